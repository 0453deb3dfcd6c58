"""Network operations: the logic behind the networks API (spec 02 §7, 04 §2, §4.4).

Lock order (spec 03 §5.6): User -> VM -> Network -> BackendNetwork -> pool rows.
New Network/BackendNetwork rows are committed before the first Ganeti job is
submitted.
"""

import logging
import re

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from synnefo.db.models import (
    NETWORK_TYPES,
    Backend,
    BackendNetwork,
    Network,
    NetworkInterface,
    PendingNic,
)
from synnefo.logic import backends as backend_mod
from synnefo.logic import idempotency, outage, outcome, validation
from synnefo.logic.errors import (
    BadRequest,
    BuildInProgress,
    Forbidden,
    ItemNotFound,
    NetworkInUse,
    OverLimit,
    ServiceUnavailable,
)
from synnefo.logic.pools import (
    BridgePool,
    IPPool,
    MacPrefixPool,
    PoolError,
    PoolExhausted,
    PoolNotConfigured,
)
from synnefo.logic.servers import lock_user, release_ip, run_action, validate_server_action
from synnefo.logic.users import network_limit
from synnefo.logic.utils import network_name
from synnefo.rapi import GanetiApiError

log = logging.getLogger(__name__)

ATTACHMENT_RE = re.compile(r"^nic-(\d+)-(\d+)$")
MAX_ID = 2 ** 63 - 1


# --- per-type resources (04 §4.4) ------------------------------------------

def default_link(net_type):
    return {
        "PUBLIC_ROUTED": settings.PUBLIC_ROUTED_ROUTING_TABLE,
        "PRIVATE_MAC_FILTERED": settings.PRIVATE_MAC_FILTERED_BRIDGE,
        "CUSTOM_ROUTED": settings.CUSTOM_ROUTED_ROUTING_TABLE,
        "CUSTOM_BRIDGED": settings.CUSTOM_BRIDGED_BRIDGE,
    }.get(net_type)


def net_resources(net_type, link=None, mac_prefix=None):
    """``(link, mac_prefix)`` of a new network of ``net_type``, allocating from
    the bridge / MAC-prefix pools where the type needs it (locks the pool row).
    Raises ``PoolError``."""
    if net_type == "PRIVATE_MAC_FILTERED":
        pool = MacPrefixPool.locked()
        prefix = pool.get()
        pool.save()
        return link or default_link(net_type), prefix
    if net_type == "PRIVATE_PHYSICAL_VLAN":
        if link:
            return link, mac_prefix or settings.MAC_POOL_BASE
        pool = BridgePool.locked()
        bridge = pool.get()
        pool.save()
        return bridge, mac_prefix or settings.MAC_POOL_BASE
    return link or default_link(net_type), mac_prefix or settings.MAC_POOL_BASE


def release_resources(network):
    """Give the network's bridge / MAC prefix back to its pool (network DELETED).
    Call inside a transaction."""
    try:
        if network.type == "PRIVATE_MAC_FILTERED" and network.mac_prefix != settings.MAC_POOL_BASE:
            pool = MacPrefixPool.locked()
            pool.put(network.mac_prefix)
            pool.save()
        elif network.type == "PRIVATE_PHYSICAL_VLAN" and network.link:
            pool = BridgePool.locked()
            pool.put(network.link)
            pool.save()
    except (PoolError, ValueError) as exc:
        log.warning("Cannot return the resources of network %s: %s", network.id, exc)


POOL_NAMES = {MacPrefixPool: "MAC prefix", BridgePool: "bridge"}
POOL_TYPES = {MacPrefixPool: "mac-prefix", BridgePool: "bridge"}


def pool_fault(net_type, exc):
    """The API fault of a network whose bridge / MAC prefix cannot be had:
    which pool is missing or full, and what the operator does about it."""
    pool = BridgePool if net_type == "PRIVATE_PHYSICAL_VLAN" else MacPrefixPool
    name = POOL_NAMES[pool]
    if isinstance(exc, PoolNotConfigured):
        return ServiceUnavailable(
            "Failed to allocate resources for network: no %s pool is configured "
            "(the operator creates one with: snf-manage pool-create --type %s)"
            % (name, POOL_TYPES[pool]))
    if isinstance(exc, PoolExhausted):
        return ServiceUnavailable("Failed to allocate resources for network: the %s pool is "
                                  "exhausted" % name)
    return ServiceUnavailable("Failed to allocate resources for network: %s pool: %s" % (name, exc))


# --- lookups / limits -----------------------------------------------------

def counted_networks(userid):
    """The networks of ``userid`` that count against the limit: not deleted,
    and not ERROR (Ganeti never created them)."""
    return Network.objects.filter(userid=userid, deleted=False).exclude(state="ERROR")


def get_network(userid, network_id, for_update=False):
    try:
        network_id = int(network_id)
    except (TypeError, ValueError):
        raise ItemNotFound("Network not found.")
    if not 0 < network_id <= MAX_ID:  # beyond any id column: no such network (and no DB overflow)
        raise ItemNotFound("Network not found.")
    query = Network.objects.filter(Q(userid=userid) | Q(public=True), pk=network_id)
    if for_update:
        query = query.select_for_update()
    network = query.first()
    if network is None:
        raise ItemNotFound("Network not found.")
    return network


def _modifiable(network, verb="modify"):
    if network.public:
        raise Forbidden("Can not %s the public network." % verb)
    if network.deleted:
        raise BadRequest("Network has been deleted.")


# --- create -----------------------------------------------------------------

def _insert_network(name, subnet, gateway, subnet6, gateway6, dhcp, net_type, link, mac_prefix,
                    public, userid, backends):
    network = Network.objects.create(
        name=name, userid=userid, subnet=str(subnet), gateway=gateway,
        subnet6=str(subnet6) if subnet6 else None, gateway6=gateway6, dhcp=dhcp, type=net_type,
        link=link, mac_prefix=mac_prefix, public=public, state="PENDING", action="CREATE")
    IPPool.for_network(network).save()  # initialise the pool (network/gateway/broadcast reserved)
    for backend in backends:
        backend_mod.ensure_backend_network(network, backend)
    return network


def submit_create(network, backends):
    """Create + connect jobs on every backend; failures are logged and kept
    on the BackendNetwork (reconciliation creates what is missing). Returns
    ``{backend_id: None or the exception}``."""
    results = {}
    for backend in backends:
        try:
            backend_mod.create_network_on_backend(network, backend)
            results[backend.id] = None
        except (GanetiApiError, ServiceUnavailable) as exc:
            log.error("Cannot create network %s on %s: %s", network.id, backend, exc)
            BackendNetwork.objects.filter(network=network, backend=backend).update(
                backendlogmsg=("Create not submitted: %s" % exc)[:1000])
            results[backend.id] = exc
    return results


def create(userid, name, cidr="192.168.1.0/24", cidr6=None, gateway=None, gateway6=None,
           net_type="PRIVATE_MAC_FILTERED", dhcp=True, public=False, idempotency_key=None):
    """Create a private network of ``userid`` (spec 02 §7.2).

    ``idempotency_key``: as for ``servers.create``, a retry with the same key
    and parameters returns the first network (``network.replayed`` is true)."""
    key = idempotency.check_key(idempotency_key)
    request_digest = idempotency.digest(name=name, cidr=cidr, cidr6=cidr6, gateway=gateway,
                                        gateway6=gateway6, type=net_type, dhcp=dhcp, public=public)
    if public:
        raise Forbidden("Can not create a public network.")
    if net_type not in NETWORK_TYPES:
        raise BadRequest("Invalid network type: %s" % (net_type,))
    if net_type not in settings.ENABLED_NETWORKS:
        raise Forbidden("Can not create %s network" % net_type)
    validation.network_name(name)
    with transaction.atomic():
        user = lock_user(userid)
        earlier = idempotency.find(userid, "network", key, request_digest)
        if earlier is not None:
            network = Network.objects.filter(pk=earlier.object_id).first()
            if network is not None:
                network.replayed = True
                return network
            earlier.delete()
        if counted_networks(userid).count() >= network_limit(user):
            raise OverLimit("Network count limit exceeded for your account.")
        subnet = validation.ipv4_subnet(cidr)
        validation.ipv4_subnet_size(subnet)
        gateway = validation.ipv4_gateway(gateway, subnet)
        subnet6 = validation.ipv6_subnet(cidr6)
        gateway6 = validation.ipv6_gateway(gateway6, subnet6)
        try:
            link, mac_prefix = net_resources(net_type)
        except PoolError as exc:
            log.error("Network resources for %s: %s", net_type, exc)
            raise pool_fault(net_type, exc)
        backends = list(Backend.objects.filter(offline=False).order_by("id"))
        if not backends:
            raise ServiceUnavailable("Failed to create network: no backend is online")
        network = _insert_network(name, subnet, gateway, subnet6, gateway6, bool(dhcp), net_type,
                                  link, mac_prefix, False, userid, backends)
        idempotency.record(userid, "network", key, request_digest, network.id)
    with outage.after_effect(created_message(network.id, key), retry_safe=key is not None):
        results = submit_create(network, backends)
        accepted = _accepted_anywhere(network, results)
        if not accepted:
            _forget(network)
    if not accepted:
        raise ServiceUnavailable("Failed to create network: %s" % next(iter(results.values())))
    with outage.after_effect(created_message(network.id, key), retry_safe=key is not None):
        network.refresh_from_db()
    return network


def created_message(network_id, key):
    """What an answer past the commit of network ``network_id`` tells the client."""
    if key is not None:
        return ("network %d was created; retry with the same %s to get it."
                % (network_id, idempotency.HEADER))
    return "network %d was created; do not create it again, list your networks instead." % network_id


def _accepted_anywhere(network, results):
    """Did some backend take the create job, or may it have (answer lost)?"""
    if any(r is None or outcome.may_have_reached(r) for r in results.values()):
        return True
    return BackendNetwork.objects.filter(network=network, backendjobid__isnull=False).exists()


def _forget(network):
    """No backend accepted the network: it exists nowhere, so nothing is
    left behind (rows deleted, bridge / MAC prefix back in their pools)."""
    with transaction.atomic():
        locked = Network.objects.select_for_update().get(pk=network.pk)
        release_resources(locked)
        idempotency.release("network", locked.id)
        locked.delete()


def admin_create(name, subnet, gateway=None, subnet6=None, gateway6=None, dhcp=False, public=False,
                 net_type="PRIVATE_MAC_FILTERED", owner=None, backend=None, link=None, mac_prefix=None):
    """``snf-manage network-create`` (spec 04 §6): no quota; public networks
    live on one backend. Raises ``BadRequest``/``ServiceUnavailable``."""
    if net_type not in NETWORK_TYPES:
        raise BadRequest("Invalid network type: %s" % (net_type,))
    if public and backend is None:
        raise BadRequest("A public network needs a backend.")
    if not public and backend is not None:
        raise BadRequest("Only public networks are created on one backend.")
    if not public and not owner:
        raise BadRequest("A private network needs an owner.")
    if net_type == "PRIVATE_MAC_FILTERED" and mac_prefix:
        raise BadRequest("Can not override the MAC prefix of PRIVATE_MAC_FILTERED networks.")
    if net_type == "PRIVATE_PHYSICAL_VLAN" and link:
        raise BadRequest("Can not override the link of PRIVATE_PHYSICAL_VLAN networks.")
    validation.network_name(name)
    net = validation.ipv4_subnet(subnet)
    if net.prefixlen > 29 or (not public and net.prefixlen <= settings.MAX_CIDR_BLOCK):
        raise BadRequest("Unsupported network size: private networks need a prefix in /%d../29, "
                         "public ones at most /29." % (settings.MAX_CIDR_BLOCK + 1))
    gateway = validation.ipv4_gateway(gateway, net)
    net6 = validation.ipv6_subnet(subnet6)
    gateway6 = validation.ipv6_gateway(gateway6, net6)
    if mac_prefix:
        from synnefo.logic.pools import _mac_prefix_int, valid_mac_prefix
        try:
            _mac_prefix_int(mac_prefix)
        except ValueError as exc:
            raise BadRequest(str(exc))
        if not valid_mac_prefix(mac_prefix):
            raise BadRequest("MAC prefix %s is not unicast and locally administered." % mac_prefix)
    with transaction.atomic():
        try:
            link, mac_prefix = net_resources(net_type, link, mac_prefix)
        except PoolError as exc:
            raise pool_fault(net_type, exc)
        backends = [backend] if public else list(Backend.objects.filter(offline=False).order_by("id"))
        network = _insert_network(name, net, gateway, net6, gateway6, bool(dhcp), net_type, link,
                                  mac_prefix, public, owner or None, backends)
    results = submit_create(network, backends)
    network.refresh_from_db()
    return network, results


# --- rename / delete ----------------------------------------------------------

def rename(userid, network_id, name):
    validation.network_name(name)
    with transaction.atomic():
        network = get_network(userid, network_id, for_update=True)
        _modifiable(network, "rename")
        network.name = name
        network.save(update_fields=["name", "updated"])
    return network


def delete(userid, network_id):
    with transaction.atomic():
        network = get_network(userid, network_id, for_update=True)
        _modifiable(network, "delete")
        plan = mark_destroy(network)
    return submit_destroy(network, plan)


def mark_destroy(network):
    """With ``network`` locked: refuse while NICs use it, mark it DESTROY and
    return what :func:`submit_destroy` (called after the commit, with no lock
    held) needs. A network that exists on no backend is deleted at once."""
    if NetworkInterface.objects.filter(network=network).exists():
        raise NetworkInUse("Machines are connected to network.")
    if PendingNic.objects.filter(network=network).exists():
        raise NetworkInUse("A server is being connected to the network; delete it once the "
                           "connection is done (or has failed).")
    previous = network.action
    network.action = "DESTROY"
    bnets = list(BackendNetwork.objects.select_related("backend")
                 .filter(network=network, deleted=False, backend__offline=False))
    if not BackendNetwork.objects.filter(network=network, deleted=False).exists():
        # Nothing exists in Ganeti: nothing will ever confirm the removal.
        network.state, network.deleted = "DELETED", True
        network.save()
        release_resources(network)
        return None
    network.save(update_fields=["action", "updated"])
    return bnets, previous


def submit_destroy(network, plan):
    """Delete ``network`` on every backend of ``plan`` (no lock held over the
    RAPI calls). When every backend refuses, the network's action is put back
    and the answer is ``ServiceUnavailable``."""
    if plan is None:
        return network
    bnets, previous = plan
    errors = []
    submitted = []
    for bnet in bnets:
        try:
            job = backend_mod.delete_network_on_backend(network, bnet.backend)
        except (GanetiApiError, ServiceUnavailable) as exc:
            log.error("Cannot delete network %s on %s: %s", network.id, bnet.backend, exc)
            errors.append(exc)
            continue
        submitted.append(job)
        with outage.after_effect(_delete_submitted(network, submitted)):
            BackendNetwork.objects.filter(pk=bnet.pk).update(backendjobid=job)
    if bnets and len(errors) == len(bnets):
        Network.objects.filter(pk=network.pk, action="DESTROY").update(action=previous)
        raise ServiceUnavailable("Failed to delete network: %s" % errors[0])
    with outage.after_effect(_delete_submitted(network, submitted)):
        network.refresh_from_db()
    return network


def _delete_submitted(network, jobs):
    return ("the delete job(s) %s of network %d were submitted to Ganeti and go ahead; check the "
            "network before repeating it." % (", ".join(map(str, jobs)), network.id))


# --- connect / disconnect -------------------------------------------------------

def connect(userid, network_id, vm_id):
    """Add a NIC on ``network_id`` to the caller's VM ``vm_id`` (task CONNECT).

    As every server action (``servers.run_action``): the task, the address
    and the PendingNic that holds it are committed first, the job is
    submitted with no lock held, its id recorded after."""
    change = _Connect(userid, network_id)
    return run_action(userid, vm_id, None, "CONNECT", change.submit, change)


class _Connect:
    """What a connect records besides its task (``run_action``'s ``change``):
    the address taken from the network's pool and the PendingNic that holds
    it until Ganeti reports the NIC (or the job fails)."""

    def __init__(self, userid, network_id):
        self.userid, self.network_id = userid, network_id
        self.pending = self.nic = None

    def prepare(self, vm):
        network = get_network(self.userid, self.network_id, for_update=True)
        _modifiable(network)
        if network.state != "ACTIVE":
            raise BuildInProgress("Network not active yet")
        validate_server_action(vm, "CONNECT")
        if vm.backend_id is None or not BackendNetwork.objects.filter(
                network=network, backend_id=vm.backend_id, operstate="ACTIVE").exists():
            raise BuildInProgress("Network not active yet on the server's backend")
        ip = None
        if network.dhcp:
            pool = IPPool.for_network(network)
            try:
                ip = pool.get()
            except PoolExhausted:
                raise OverLimit("Network is full")
            pool.save()
        self.nic = {"ip": ip, "network": network_name(network.id)}
        self.pending = PendingNic.objects.create(machine=vm, network=network, kind="CONNECT", ipv4=ip)

    def submit(self, client, name):
        return client.modify_instance(name, nics=[["add", self.nic]], hotplug=settings.GANETI_USE_HOTPLUG)

    def record(self, vm, job_id):
        if vm.backendjobid == job_id and vm.backendjobstatus in ("error", "canceled"):
            # a dispatcher saw the job fail before its id was known here, so
            # it could not tell this NIC's address was to be given back
            self._give_back()
        else:
            PendingNic.objects.filter(pk=self.pending.pk).update(job_id=job_id)

    def undo(self, vm, reached):
        # A request that may have reached Ganeti keeps the address and the
        # PendingNic (job id unknown) for reconciliation: never guessed.
        if not reached:
            self._give_back()

    def _give_back(self):
        """The address back to its pool, once (the PendingNic may be gone
        already: the server was destroyed meanwhile)."""
        deleted, _ = PendingNic.objects.filter(pk=self.pending.pk).delete()
        if deleted:
            release_ip(self.pending.network_id, self.pending.ipv4)


def parse_attachment(attachment):
    match = ATTACHMENT_RE.match(str(attachment or ""))
    if not match or max(int(match.group(1)), int(match.group(2))) > MAX_ID:
        raise BadRequest("Malformed attachment id: %s" % (attachment,))
    return int(match.group(1)), int(match.group(2))


def disconnect(userid, network_id, attachment):
    """Remove the NIC ``nic-<vm>-<index>`` from its VM (task DISCONNECT),
    marking only that NIC dirty (busy); submitted as :func:`connect`."""
    vm_id, index = parse_attachment(attachment)
    change = _Disconnect(userid, network_id, attachment, index)
    return run_action(userid, vm_id, None, "DISCONNECT", change.submit, change)


class _Disconnect:
    """What a disconnect records besides its task: the dirty mark of the NIC."""

    def __init__(self, userid, network_id, attachment, index):
        self.userid, self.network_id = userid, network_id
        self.attachment, self.index = attachment, index
        self.nic = None

    def prepare(self, vm):
        network = get_network(self.userid, self.network_id, for_update=True)
        _modifiable(network)
        validate_server_action(vm, "DISCONNECT")
        nic = NetworkInterface.objects.filter(machine=vm, index=self.index).first()
        if nic is None:
            raise ItemNotFound("NIC not found on VM")
        if self.index == 0:
            raise Forbidden("Can not remove the public NIC of a server.")
        if nic.network_id != network.id:
            raise BadRequest("NIC %s is not connected to network %s." % (self.attachment, network.id))
        if nic.dirty:
            raise BuildInProgress("Machine is busy.")
        NetworkInterface.objects.filter(pk=nic.pk).update(dirty=True)
        self.nic = nic

    def submit(self, client, name):
        return client.modify_instance(name, nics=[["remove", self.index, {}]],
                                      hotplug=settings.GANETI_USE_HOTPLUG)

    def record(self, vm, job_id):
        pass  # the dispatcher cleans the NIC when the job ends or Ganeti reports the NICs

    def undo(self, vm, reached):
        # Clean even when the request may have reached Ganeti: a removal that
        # happens is reported by the hook all the same, and a NIC left dirty
        # would stay busy (and unreconciled) for good.
        NetworkInterface.objects.filter(pk=self.nic.pk).update(dirty=False)
