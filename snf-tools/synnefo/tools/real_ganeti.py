"""A real Ganeti cluster brought up by ``ci/real-ganeti.sh up``, as seen by
``snf-quickstart --ganeti`` and by the tests that run against it.

The script writes a shell-sourceable ``KEY=VALUE`` state file; this module
reads it into the cluster description a deployment uses for any Ganeti (the
simulator's has the same keys).
"""

import os

DEFAULT_STATE_FILE = "/run/snf-real-ganeti.env"
# Tests: where the state file is, and whether a missing/unanswering cluster
# fails them instead of skipping them (`make test-ganeti` sets it).
STATE_ENV = "SNF_GANETI_STATE"  # the name ci/real-ganeti.sh reads too
REQUIRED_ENV = "SNF_REAL_GANETI_REQUIRED"

_KEYS = {"cluster_name": "SNF_GANETI_CLUSTER", "user": "SNF_GANETI_RAPI_USER",
         "password": "SNF_GANETI_RAPI_PASSWORD", "fingerprint": "SNF_GANETI_RAPI_FINGERPRINT",
         "node": "SNF_GANETI_NODE", "os": "SNF_GANETI_OS", "queue_dir": "SNF_GANETI_QUEUE_DIR",
         "hooks_dir": "SNF_GANETI_HOOKS_DIR", "bridge": "SNF_GANETI_BRIDGE",
         "read_user": "SNF_GANETI_RAPI_READ_USER", "read_password": "SNF_GANETI_RAPI_READ_PASSWORD"}


_OPTIONAL_KEYS = {"ns": "SNF_GANETI_NS", "private_bridge": "SNF_GANETI_PRIVATE_BRIDGE",
                  "bridge_pool_base": "SNF_GANETI_BRIDGE_POOL_BASE",
                  "bridge_pool_size": "SNF_GANETI_BRIDGE_POOL_SIZE"}


class StateError(Exception):
    """No usable state file, or no cluster answering behind it."""


def read_state(path=DEFAULT_STATE_FILE):
    """The cluster description of the state file at ``path``."""
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise StateError(f"cannot read the Ganeti state file {path}: {exc.strerror} "
                         "(bring a cluster up with `ci/real-ganeti.sh up`)") from None
    values = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    try:
        cluster = {key: values[name] for key, name in _KEYS.items()}
        cluster["port"] = int(values["SNF_GANETI_RAPI_PORT"])
    except (KeyError, ValueError) as exc:
        raise StateError(f"{path} is not a state file of ci/real-ganeti.sh: bad or missing {exc}") from None
    # What private networks need on the node (older state files lack it).
    for key, name in _OPTIONAL_KEYS.items():
        cluster[key] = values.get(name)
    cluster["links"] = [link for link in (values.get("SNF_GANETI_LINKS") or "").split(",") if link]
    cluster["url"] = "https://%s:%s" % (cluster["cluster_name"], cluster["port"])
    cluster["real"] = True
    return cluster


def rapi_client(cluster, **kwargs):
    """A RAPI client of ``cluster`` (this module's description, or the
    simulator's with the same keys), pinned to its certificate."""
    # snf-common's client: imported here, snf-tools alone does not need it
    from synnefo.rapi import GanetiRapiClient

    return GanetiRapiClient(cluster["cluster_name"], cluster["port"], cluster["user"],
                            cluster["password"], fingerprint=cluster["fingerprint"], **kwargs)


def check_answers(cluster, timeout=5):
    """Raise ``StateError`` unless the cluster's RAPI answers with its name."""
    from synnefo.rapi import GanetiApiError

    client = rapi_client(cluster, timeout=timeout, retries=0)
    try:
        name = client.get_info().get("name")
    except GanetiApiError as exc:
        raise StateError(f"the cluster of the state file does not answer: {exc}") from None
    finally:
        client.close()
    if name != cluster["cluster_name"]:
        raise StateError(f"RAPI at {cluster['url']} is cluster {name!r}, not {cluster['cluster_name']!r}")


def cluster_for_tests():
    """``(cluster, None)`` when a real cluster is up and answers, else
    ``(None, reason)``; with ``SNF_REAL_GANETI_REQUIRED=1`` the reason is
    raised as ``StateError`` instead, so that no test can skip silently."""
    path = os.environ.get(STATE_ENV, DEFAULT_STATE_FILE)
    try:
        if not os.path.exists(path):
            raise StateError(f"no real Ganeti cluster ({path} is missing: `make test-ganeti` "
                             "brings one up)")
        cluster = read_state(path)
        check_answers(cluster)
        return cluster, None
    except StateError as exc:
        if os.environ.get(REQUIRED_ENV) == "1":
            raise
        return None, str(exc)
