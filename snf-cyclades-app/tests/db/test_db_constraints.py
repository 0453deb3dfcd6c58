"""Every database constraint of the data model refuses a raw write that breaks it.

The writes go around Python validation (``QuerySet.update`` / ``bulk_create``)
so only the database stands in the way. Foreign keys are deferred until
commit on both engines; ``connection.check_constraints()`` checks them now.

``test_every_constraint_has_a_breaker`` keeps this file complete: a new
CheckConstraint, UniqueConstraint, unique field or foreign key in
``synnefo.db.models`` fails it until a breaker is added here.
"""

import pytest
from django.apps import apps
from django.db import DataError, IntegrityError, connection, models, transaction
from synnefo.db.models import (
    AuthToken,
    Backend,
    BackendNetwork,
    BridgePoolTable,
    CreateSubmission,
    Flavor,
    IdempotencyKey,
    Image,
    IPPoolTable,
    MacPrefixPoolTable,
    Network,
    NetworkInterface,
    PendingNic,
    ReconciliationFinding,
    ReconciliationRun,
    User,
    VirtualMachine,
    VirtualMachineDiagnostic,
    VirtualMachineMetadata,
)

MISSING_ID = 987654


@pytest.fixture
def w(db):
    """One row of every model, all valid."""
    user = User.objects.create(uniq="alice")
    token = AuthToken.objects.create(user=user, digest=AuthToken.digest_of("t"))
    flavor = Flavor.objects.create(cpu=1, ram=512, disk=10, disk_template="plain")
    image = Image.objects.create(id="debian", name="Debian", location="pithos://a/debian", public=True)
    backend = Backend.objects.create(clustername="c1.example.org", index=0)
    backend2 = Backend.objects.create(clustername="c2.example.org", index=1)
    vm = VirtualMachine.objects.create(name="vm", userid="alice", backend=backend, imageid="debian",
                                       flavor=flavor)
    meta = VirtualMachineMetadata.objects.create(vm=vm, meta_key="OS", meta_value="debian")
    diag = VirtualMachineDiagnostic.objects.create(machine=vm, level="INFO", source="test",
                                                   message="hello")
    net = Network.objects.create(name="net", userid="alice", subnet="10.0.0.0/24",
                                 mac_prefix="aa:00:1", type="PRIVATE_MAC_FILTERED")
    bnet = BackendNetwork.objects.create(network=net, backend=backend, mac_prefix="aa:00:1")
    nic = NetworkInterface.objects.create(machine=vm, network=net, index=0, mac="aa:00:10:00:00:01")
    pending = PendingNic.objects.create(machine=vm, network=net, kind="CONNECT", ipv4="10.0.0.5")
    bridges = BridgePoolTable.objects.create(size=10, base="prv")
    macs = MacPrefixPoolTable.objects.create(size=10, base="aa:00:0")
    ips = IPPoolTable.objects.create(size=256, base="10.0.0.0/24", network=net)
    net2 = Network.objects.create(name="net2", userid="alice", subnet="10.0.1.0/24", mac_prefix="aa:00:2")
    run = ReconciliationRun.objects.create(command="reconcile-servers", started="2026-01-01T00:00Z",
                                           finished="2026-01-01T00:01Z", exit_status=1)
    finding = ReconciliationFinding.objects.create(run=run, kind="stale", details="gone", result="reported")
    key = IdempotencyKey.objects.create(userid="alice", kind="server", key="k1", digest="0" * 64,
                                        object_id=vm.id)
    submission = CreateSubmission.objects.create(machine=vm, payload="fernet:x")
    return locals()


def update(obj, **values):
    """A raw UPDATE of one row, bypassing every Python-side check."""
    type(obj).objects.filter(pk=obj.pk).update(**values)


def insert(model, **values):
    model.objects.bulk_create([model(**values)])


# Each breaker gets the fixture dict and performs one write that the named
# database constraint must refuse.
CHECKS = {
    # User
    "user_uniq_not_empty": lambda w: update(w["user"], uniq=""),
    "user_max_vms_not_negative": lambda w: update(w["user"], max_vms=-1),
    "user_max_networks_not_negative": lambda w: update(w["user"], max_networks=-1),
    "user_uniq_length": lambda w: update(w["user"], uniq="u" * 129),
    # AuthToken
    "authtoken_digest_is_sha256": lambda w: update(w["token"], digest="not-a-digest"),
    # Flavor
    "flavor_unique_size_template": lambda w: insert(Flavor, cpu=1, ram=512, disk=10,
                                                    disk_template="plain"),
    "flavor_cpu_positive": lambda w: update(w["flavor"], cpu=0),
    "flavor_ram_positive": lambda w: update(w["flavor"], ram=-512),
    "flavor_disk_positive": lambda w: update(w["flavor"], disk=0),
    "flavor_template_not_empty": lambda w: update(w["flavor"], disk_template=""),
    "flavor_template_length": lambda w: update(w["flavor"], disk_template="t" * 33),
    # Image
    "image_id_format": lambda w: insert(Image, id="bad id", name="x", location="pithos://x"),
    "image_name_not_empty": lambda w: update(w["image"], name=""),
    "image_location_not_empty": lambda w: update(w["image"], location=""),
    "image_disk_format_valid": lambda w: update(w["image"], disk_format="qcow2"),
    "image_container_format_valid": lambda w: update(w["image"], container_format="zip"),
    "image_status_valid": lambda w: update(w["image"], status="lost"),
    "image_size_not_negative": lambda w: update(w["image"], size=-1),
    "image_name_length": lambda w: update(w["image"], name="n" * 256),
    # Backend
    "backend_index_range": lambda w: update(w["backend"], index=16),
    "backend_port_range": lambda w: update(w["backend"], port=65536),
    "backend_clustername_not_empty": lambda w: update(w["backend"], clustername=""),
    "backend_stats_not_negative": lambda w: update(w["backend"], dfree=-1),
    "backend_password_encrypted": lambda w: update(w["backend"], password_encrypted="secret"),
    # VirtualMachine
    "vm_operstate_valid": lambda w: update(w["vm"], operstate="RUNNING"),
    "vm_action_valid": lambda w: update(w["vm"], action="EXPLODE"),
    "vm_task_valid": lambda w: update(w["vm"], task="DANCE"),
    "vm_jobstatus_valid": lambda w: update(w["vm"], backendjobstatus="done"),
    "vm_buildpercentage_range": lambda w: update(w["vm"], buildpercentage=101),
    "vm_userid_not_empty": lambda w: update(w["vm"], userid=""),
    "vm_name_length": lambda w: update(w["vm"], name="v" * 256),
    "vm_deleted_is_destroyed": lambda w: update(w["vm"], deleted=True, operstate="STOPPED"),
    # VirtualMachineMetadata
    "vm_metadata_unique_key": lambda w: insert(VirtualMachineMetadata, vm=w["vm"], meta_key="OS",
                                               meta_value="other"),
    "vm_metadata_key_not_empty": lambda w: update(w["meta"], meta_key=""),
    "vm_metadata_key_length": lambda w: update(w["meta"], meta_key="k" * 51),
    "vm_metadata_value_length": lambda w: update(w["meta"], meta_value="v" * 501),
    # VirtualMachineDiagnostic
    "diagnostic_level_valid": lambda w: update(w["diag"], level="LOUD"),
    # Network
    "network_type_valid": lambda w: update(w["net"], type="PRIVATE_ROUTED"),
    "network_state_valid": lambda w: update(w["net"], state="BUILD"),
    "network_action_valid": lambda w: update(w["net"], action="DELETE"),
    "network_private_has_owner": lambda w: update(w["net"], userid=None, public=False),
    "network_subnet_not_empty": lambda w: update(w["net"], subnet=""),
    "network_name_length": lambda w: update(w["net"], name="n" * 129),
    "network_deleted_is_state_deleted": lambda w: update(w["net"], deleted=True, state="ACTIVE"),
    # BackendNetwork
    "backendnetwork_unique": lambda w: insert(BackendNetwork, network=w["net"], backend=w["backend"],
                                              mac_prefix="aa:00:1"),
    "backendnetwork_operstate_valid": lambda w: update(w["bnet"], operstate="UP"),
    "backendnetwork_jobstatus_valid": lambda w: update(w["bnet"], backendjobstatus="ok"),
    # NetworkInterface
    "nic_unique_index_per_vm": lambda w: insert(NetworkInterface, machine=w["vm"], network=w["net"],
                                                index=0, mac="aa:00:10:00:00:02"),
    "nic_index_not_negative": lambda w: update(w["nic"], index=-1),
    "nic_mac_format": lambda w: update(w["nic"], mac="AA-00-10-00-00-01"),
    "nic_firewall_profile_valid": lambda w: update(w["nic"], firewall_profile="OPEN"),
    # PendingNic: one address of a network is pending for one NIC only
    "pendingnic_kind_valid": lambda w: update(w["pending"], kind="ATTACH"),
    "pendingnic_unique_ipv4": lambda w: insert(PendingNic, machine=w["vm"], network=w["net"],
                                               kind="CREATE", ipv4="10.0.0.5"),
    # Pools
    "bridgepool_size_positive": lambda w: update(w["bridges"], size=0),
    "macprefixpool_size_positive": lambda w: update(w["macs"], size=-5),
    "ippool_size_positive": lambda w: update(w["ips"], size=0),
    # ReconciliationRun
    "reconcilerun_command_not_empty": lambda w: update(w["run"], command=""),
    "reconcilerun_exit_status_valid": lambda w: update(w["run"], exit_status=3),
    # IdempotencyKey
    "idempotency_key_unique": lambda w: insert(IdempotencyKey, userid="alice", kind="server", key="k1",
                                               digest="1" * 64, object_id=1),
    "idempotency_kind_valid": lambda w: update(w["key"], kind="image"),
    "idempotency_key_not_empty": lambda w: update(w["key"], key=""),
    "idempotency_key_length": lambda w: update(w["key"], key="k" * 256),
    # CreateSubmission: the payload holds a password, never in clear
    "createsubmission_payload_encrypted": lambda w: update(w["submission"], payload='{"name": "x"}'),
    "createsubmission_attempts": lambda w: update(w["submission"], attempts=-1),
}

# unique=True fields (model.field): a second row with the same value.
UNIQUE_FIELDS = {
    "CreateSubmission.machine": lambda w: insert(CreateSubmission, machine=w["vm"], payload="fernet:y"),
    "User.uniq": lambda w: insert(User, uniq="alice"),
    "AuthToken.digest": lambda w: insert(AuthToken, user=w["user"], digest=AuthToken.digest_of("t")),
    "Backend.clustername": lambda w: update(w["backend2"], clustername="c1.example.org"),
    "Backend.index": lambda w: update(w["backend2"], index=0),
    "NetworkInterface.mac": lambda w: insert(NetworkInterface, machine=w["vm"], network=w["net"],
                                             index=1, mac="aa:00:10:00:00:01"),
    "IPPoolTable.network": lambda w: insert(IPPoolTable, size=8, network=w["net"]),
}

# Foreign keys (model.field): point the row at an id that does not exist.
FOREIGN_KEYS = {
    "AuthToken.user": lambda w: update(w["token"], user_id=MISSING_ID),
    "VirtualMachine.backend": lambda w: update(w["vm"], backend_id=MISSING_ID),
    "VirtualMachine.flavor": lambda w: update(w["vm"], flavor_id=MISSING_ID),
    "VirtualMachineMetadata.vm": lambda w: update(w["meta"], vm_id=MISSING_ID),
    "VirtualMachineDiagnostic.machine": lambda w: update(w["diag"], machine_id=MISSING_ID),
    "BackendNetwork.network": lambda w: update(w["bnet"], network_id=MISSING_ID),
    "BackendNetwork.backend": lambda w: update(w["bnet"], backend_id=MISSING_ID),
    "NetworkInterface.machine": lambda w: update(w["nic"], machine_id=MISSING_ID),
    "NetworkInterface.network": lambda w: update(w["nic"], network_id=MISSING_ID),
    "PendingNic.machine": lambda w: update(w["pending"], machine_id=MISSING_ID),
    "PendingNic.network": lambda w: update(w["pending"], network_id=MISSING_ID),
    "IPPoolTable.network_fk": lambda w: update(w["ips"], network_id=MISSING_ID),
    "ReconciliationFinding.run": lambda w: update(w["finding"], run_id=MISSING_ID),
    "CreateSubmission.machine_fk": lambda w: update(w["submission"], machine_id=MISSING_ID),
}


def model_constraints():
    """Names of every database constraint of the ``db`` app, by kind."""
    checks, uniques, fks = set(), set(), set()
    for model in apps.get_app_config("db").get_models():
        for constraint in model._meta.constraints:
            checks.add(constraint.name)
        for field in model._meta.get_fields():
            if not field.concrete or field.auto_created and not field.primary_key:
                continue
            if isinstance(field, models.ForeignKey):
                key = "%s.%s" % (model.__name__, field.name)
                fks.add(key + "_fk" if isinstance(field, models.OneToOneField) else key)
                if field.unique:
                    uniques.add(key)
            elif field.unique and not field.primary_key:
                uniques.add("%s.%s" % (model.__name__, field.name))
    return checks, uniques, fks


def test_every_constraint_has_a_breaker():
    checks, uniques, fks = model_constraints()
    assert checks == set(CHECKS)
    assert uniques == set(UNIQUE_FIELDS)
    assert fks == set(FOREIGN_KEYS)


def expected_errors(name):
    # PostgreSQL's varchar(n) and MySQL/MariaDB's (strict mode) refuse an
    # over-long value (DataError) before the length CHECK sees it; SQLite has
    # only the CHECK.
    if name.endswith("_length") and connection.vendor in ("postgresql", "mysql"):
        return (IntegrityError, DataError)
    return IntegrityError


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_check_and_unique_constraints_refuse_raw_writes(w, name):
    with pytest.raises(expected_errors(name)):
        with transaction.atomic():
            CHECKS[name](w)


@pytest.mark.parametrize("name", sorted(UNIQUE_FIELDS))
def test_unique_fields_refuse_duplicates(w, name):
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            UNIQUE_FIELDS[name](w)


@pytest.mark.parametrize("name", sorted(FOREIGN_KEYS))
def test_foreign_keys_refuse_missing_rows(w, name):
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            FOREIGN_KEYS[name](w)
            connection.check_constraints()


def test_the_valid_rows_pass_every_check(w):
    """The fixture itself is valid: the failures above come from the breakers."""
    connection.check_constraints()
    assert VirtualMachine.objects.count() == 1 and NetworkInterface.objects.count() == 1


@pytest.mark.parametrize("values", [
    {"index": -1}, {"port": 0}, {"mtotal": -1}, {"pinst_cnt": -1}, {"ctotal": -1}])
def test_backend_ranges_both_ends(w, values):
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            update(w["backend"], **values)


def test_deleted_vm_and_network_in_final_state_are_accepted(w):
    update(w["vm"], deleted=True, operstate="DESTROYED")
    update(w["net"], deleted=True, state="DELETED")
    update(w["net2"], userid=None, public=True)
    assert VirtualMachine.objects.get().deleted
