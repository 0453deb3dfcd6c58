"""Ganeti backends: RAPI clients, resource statistics, credentials checks,
backend creation and the network operations on backends (spec 04 §0, §2, §3.1, §5)."""

import contextlib
import logging
import threading

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from synnefo.db.models import MAX_BACKENDS, Backend, BackendNetwork
from synnefo.db.secrets import SecretError
from synnefo.logic.errors import ServiceUnavailable
from synnefo.logic.utils import network_name
from synnefo.rapi import GanetiApiError, GanetiRapiClient

log = logging.getLogger(__name__)

_clients = {}
_clients_lock = threading.Lock()
_patience = threading.local()


def _tls_options(verify, ca_file, fingerprint):
    if fingerprint:
        return {"verify": False, "fingerprint": fingerprint}
    if not verify:
        return {"verify": False, "fingerprint": None}
    return {"verify": ca_file or True, "fingerprint": None}


def make_client(host, port, username, password, verify=True, ca_file=None, fingerprint=None,
                patient=True):
    """A fresh RAPI client (not cached). ``patient``: ``GANETI_RAPI_TIMEOUT`` per
    call and GET retries (commands, background jobs); else the request budget:
    ``GANETI_RAPI_REQUEST_TIMEOUT`` per call and no retry."""
    if patient:
        timeout, retries = getattr(settings, "GANETI_RAPI_TIMEOUT", 30), 3
    else:
        timeout, retries = getattr(settings, "GANETI_RAPI_REQUEST_TIMEOUT", 5), 0
    return GanetiRapiClient(host, port=port, username=username, password=password,
                            timeout=timeout, retries=retries,
                            dry_run=bool(getattr(settings, "GANETI_DRY_RUN", False)),
                            **_tls_options(verify, ca_file, fingerprint))


@contextlib.contextmanager
def patient_rapi_calls():
    """Inside: :func:`get_rapi_client` of this thread gives patient clients
    (long timeout, GET retries), for work done off the request path (stats
    refresh, ``backend-add``). Outside, every client keeps to the request
    budget, so that no API request waits long for a slow Ganeti."""
    previous = getattr(_patience, "on", False)
    _patience.on = True
    try:
        yield
    finally:
        _patience.on = previous


def get_rapi_client(backend):
    """The RAPI client of ``backend``, cached per connection settings (the
    ``backend.hash`` stamp and the fields themselves), per thread (a client
    holds one HTTP session) and per budget (see :func:`patient_rapi_calls`).
    A password that cannot be decrypted is a ``ServiceUnavailable`` naming
    the fix, logged in one line.

    Raises ``ServiceUnavailable`` for an offline backend (no RAPI call at all).
    """
    if backend is None:
        raise ServiceUnavailable("Server has no backend")
    if backend.offline:
        raise ServiceUnavailable("Backend %s is offline" % backend.clustername)
    patient = getattr(_patience, "on", False)
    key = (threading.get_ident(), patient, backend.pk, backend.hash) + backend.connection_settings()
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            try:
                password = backend.password
            except SecretError as exc:
                log.error("%s", exc)
                raise ServiceUnavailable("Backend %s: %s" % (backend.clustername, exc)) from None
            client = make_client(backend.clustername, backend.port, backend.username,
                                 password, backend.ssl_verify, backend.ssl_ca_file,
                                 backend.ssl_fingerprint, patient=patient)
            _clients[key] = client
        return client


def clear_client_cache():
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        try:
            client.close()
        except Exception:  # pragma: no cover - best effort
            pass


# --- Resource statistics ------------------------------------------------

STAT_FIELDS = ("mfree", "mtotal", "dfree", "dtotal", "pinst_cnt", "ctotal")


def get_physical_resources(backend):
    """Sum the stats of the usable nodes of ``backend`` (GET /2/nodes?bulk=1)."""
    nodes = get_rapi_client(backend).get_nodes(bulk=True)
    totals = dict.fromkeys(STAT_FIELDS, 0)
    for node in nodes or []:
        if not node.get("vm_capable", True) or node.get("drained") or node.get("offline"):
            continue
        if not node.get("cnodes"):
            continue
        for field in STAT_FIELDS:
            totals[field] += int(node.get(field) or 0)
    return totals


def update_resources(backend, resources=None):
    """Fetch (unless given) and store the resource stats of ``backend``.
    Call it outside any transaction: the RAPI call must not hold a lock."""
    if resources is None:
        with patient_rapi_calls():
            resources = get_physical_resources(backend)
    for field in STAT_FIELDS:
        setattr(backend, field, max(0, int(resources.get(field, 0))))
    backend.updated = timezone.now()
    Backend.objects.filter(pk=backend.pk).update(updated=backend.updated,
                                                 **{f: getattr(backend, f) for f in STAT_FIELDS})
    return backend


def stats_are_stale(backend, minutes=None):
    if minutes is None:
        minutes = settings.BACKEND_REFRESH_MIN
    return backend.updated < timezone.now() - timezone.timedelta(minutes=minutes)


def reachability(backend):
    """``(True, Ganeti version text)`` when the cluster of ``backend`` answers
    its RAPI, else ``(False, why)``. Offline backends are not asked."""
    if backend.offline:
        return False, "offline (not asked)"
    try:
        info = get_rapi_client(backend).get_info()
    except Exception as exc:  # any failure to answer is the finding
        return False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return True, "Ganeti %s" % (info or {}).get("software_version", "?")


# --- Changes ------------------------------------------------------------

def modify(backend, changes, password=None):
    """Apply ``changes`` (field -> value) and a new ``password`` (unless
    ``None``) to ``backend``, the row locked; returns the saved backend. Used
    by snf-manage backend-modify and the admin web (drained/offline)."""
    with transaction.atomic():
        backend = Backend.objects.select_for_update().get(pk=backend.pk)
        for field, value in changes.items():
            setattr(backend, field, value)
        if password is not None:
            backend.password = password
        backend.save()
    return backend


# --- Credentials and creation --------------------------------------------

class BackendCheckError(Exception):
    """The cluster is unreachable, has another name, or refuses writes."""


def check_credentials(clustername, port, user, password, verify=True, fingerprint=None,
                      ca_file=None):
    """Verify that ``/2/info`` names ``clustername`` and that the user may write
    (a no-op ``PUT /2/modify``). Raises ``BackendCheckError``; returns a list
    of warnings (e.g. a missing ``instance-create-reqv1`` feature)."""
    client = make_client(clustername, port, user, password, verify, ca_file, fingerprint)
    try:
        try:
            info = client.get_info()
        except GanetiApiError as exc:
            raise BackendCheckError("cannot read cluster info from %s:%s: %s" % (clustername, port, exc))
        name = (info or {}).get("name")
        if name != clustername:
            raise BackendCheckError("cluster name mismatch: %s:%s is %r, not %r"
                                    % (clustername, port, name, clustername))
        try:
            client.modify_cluster()
        except GanetiApiError as exc:
            # Authentication and authorisation come before body validation in
            # RAPI, so an answer other than 401/403 (e.g. 400 for a body a given
            # Ganeti version does not like) still proves write access.
            if exc.code in (401, 403) or exc.code is None:
                raise BackendCheckError("no write access to %s:%s as %r: %s"
                                        % (clustername, port, user, exc))
            log.info("Write probe on %s answered %s; accepting (%s)", clustername, exc.code, exc)
        warnings = []
        try:
            features = client.get_features()
        except GanetiApiError as exc:
            features = None
            warnings.append("cannot read the cluster features: %s" % exc)
        if features is not None and "instance-create-reqv1" not in features:
            warnings.append("the cluster does not announce the 'instance-create-reqv1' feature "
                            "that server creation needs")
        return warnings
    finally:
        client.close()


def first_free_index():
    used = set(Backend.objects.values_list("index", flat=True))
    for index in range(MAX_BACKENDS):
        if index not in used:
            return index
    return None


def create_backend(clustername, port, username, password, drained=True, offline=False,
                   ssl_verify=True, ssl_ca_file=None, ssl_fingerprint=None):
    """Insert a backend with the first free index (0-15) and an encrypted password."""
    with transaction.atomic():
        index = first_free_index()
        if index is None:
            raise ValueError("all %d backend indexes are in use" % MAX_BACKENDS)
        backend = Backend(clustername=clustername, port=port, username=username, index=index,
                          drained=drained, offline=offline, ssl_verify=ssl_verify,
                          ssl_ca_file=ssl_ca_file or None, ssl_fingerprint=ssl_fingerprint or None)
        backend.password = password
        backend.save()
    return backend


# --- Networks on backends (04 §2) ---------------------------------------

def backend_mac_prefix(network, backend):
    """Network prefix (5 hex digits) + backend index (1 hex digit)."""
    prefix = network.mac_prefix.replace(":", "") + "%x" % backend.index
    return ":".join(prefix[i:i + 2] for i in range(0, 6, 2))


def ensure_backend_network(network, backend):
    """The BackendNetwork row of ``network`` on ``backend`` (created if missing)."""
    bnet, _ = BackendNetwork.objects.get_or_create(
        network=network, backend=backend,
        defaults={"mac_prefix": backend_mac_prefix(network, backend)})
    return bnet


def network_tags(network):
    tags = list(getattr(settings, "%s_TAGS" % network.type, []) or [])
    if network.dhcp:
        tags.append("nfdhcpd")
    return tags


def network_mode(network):
    return "routed" if "ROUTED" in network.type else "bridged"


def _create_network_job(client, network, bnet):
    return client.create_network(
        network_name=network_name(network.id), network=network.subnet, gateway=network.gateway,
        network6=network.subnet6, gateway6=network.gateway6, mac_prefix=bnet.mac_prefix,
        conflicts_check=bool(network.public), tags=network_tags(network), add_reserved_ips=None)


def _connect_network_jobs(client, network, depends_on=None):
    jobs = []
    depends = [[depends_on, ["success"]]] if depends_on is not None else None
    for group in client.get_groups():
        jobs.append(client.connect_network(network_name(network.id), group, network_mode(network),
                                           network.link, depends=depends,
                                           conflicts_check=bool(network.public)))
    return jobs


def create_network_on_backend(network, backend):
    """Submit create + connect-to-every-group of ``network`` on ``backend``;
    returns ``(create_job, [connect_jobs])``. The BackendNetwork row must exist
    (and be committed) before."""
    bnet = BackendNetwork.objects.get(network=network, backend=backend)
    client = get_rapi_client(backend)
    create_job = _create_network_job(client, network, bnet)
    # Recorded at once: the network exists in Ganeti even if a connect fails.
    BackendNetwork.objects.filter(pk=bnet.pk).update(backendjobid=create_job)
    connect_jobs = _connect_network_jobs(client, network, depends_on=create_job)
    return create_job, connect_jobs


def create_network_on_backend_sync(network, backend, timeout=300):
    """``backend-add``: create and connect, waiting for each job. Returns
    ``(ok, message)``."""
    bnet = BackendNetwork.objects.get(network=network, backend=backend)
    with patient_rapi_calls():
        client = get_rapi_client(backend)
    try:
        job = _create_network_job(client, network, bnet)
        status = client.wait_for_job(job, timeout)
        if status != "success":
            return False, "create job %s: %s" % (job, status)
        for group in client.get_groups():
            job = client.connect_network(network_name(network.id), group, network_mode(network),
                                         network.link, conflicts_check=bool(network.public))
            status = client.wait_for_job(job, timeout)
            if status != "success":
                return False, "connect job %s (group %s): %s" % (job, group, status)
    except GanetiApiError as exc:
        return False, str(exc)
    return True, "ok"


def delete_network_on_backend(network, backend, after=()):
    """Disconnect ``network`` from every node group of ``backend``, then delete
    it (depending on the disconnect jobs). The disconnects wait for the jobs
    ``after`` (whatever their outcome). Returns the delete job id."""
    client = get_rapi_client(backend)
    name = network_name(network.id)
    disconnects = [client.disconnect_network(name, group, depends=after_any_outcome(after))
                   for group in client.get_groups()]
    return client.delete_network(name, depends=after_any_outcome(disconnects))


def after_any_outcome(jobs):
    """A job's ``depends``: wait for ``jobs`` to end, whatever their outcome
    (``None`` when there is none to wait for)."""
    return [[job, ["success", "error", "canceled"]] for job in jobs] or None
