"""Exit 0 if the named service answers on loopback: postgres | rabbitmq | mariadb.
Run with the project's venv (ci/run-tests.sh does)."""

import sys

from synnefo.tools.loopback import answers

PORTS = {"postgres": 5432, "rabbitmq": 5672, "mariadb": 3306}


if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in PORTS:
        print(f"usage: service_up.py {'|'.join(PORTS)}", file=sys.stderr)
        sys.exit(2)
    sys.exit(0 if answers(PORTS[name]) else 1)
