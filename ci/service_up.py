"""Exit 0 if the named service answers on loopback: postgres | rabbitmq."""

import socket
import sys

PORTS = {"postgres": 5432, "rabbitmq": 5672}


def answers(port, timeout=1.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in PORTS:
        print(f"usage: service_up.py {'|'.join(PORTS)}", file=sys.stderr)
        sys.exit(2)
    sys.exit(0 if answers(PORTS[name]) else 1)
