"""The Cyclades data model (spec 01-model).

Invariants live in the database as constraints (unique, check, foreign
keys), not only in Python, so a bug or a concurrent writer cannot break them.
"""

import datetime
import hashlib
import secrets as random_secrets

from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from synnefo.db import secrets

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _choices(values):
    return [(v, v) for v in values]


def in_choices(field, values, name):
    return models.CheckConstraint(condition=Q(**{f"{field}__in": list(values)}), name=name)


def max_length_check(field, limit, name):
    """Length limit enforced by the DB on every engine (SQLite ignores varchar)."""
    return models.CheckConstraint(condition=Q(**{f"{field}__length__lte": limit}), name=name)


models.CharField.register_lookup(Length)
models.TextField.register_lookup(Length)


# --- Users and tokens --------------------------------------------------

class User(models.Model):
    """An API user. ``uniq`` is the opaque id that owns servers and networks."""

    uniq = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=255, blank=True, default="")
    email = models.CharField(max_length=255, blank=True, default="")
    active = models.BooleanField(default=True)
    # Staff may sign in to the admin web (/admin/); set with user-modify --staff.
    staff = models.BooleanField(default=False)
    max_vms = models.IntegerField(null=True, blank=True)
    max_networks = models.IntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(uniq=""), name="user_uniq_not_empty"),
            models.CheckConstraint(condition=Q(max_vms__isnull=True) | Q(max_vms__gte=0),
                                   name="user_max_vms_not_negative"),
            models.CheckConstraint(condition=Q(max_networks__isnull=True) | Q(max_networks__gte=0),
                                   name="user_max_networks_not_negative"),
            max_length_check("uniq", 128, "user_uniq_length"),
        ]

    def __str__(self):
        return self.uniq


class AuthToken(models.Model):
    """An API token. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(digest__regex=r"^[0-9a-f]{64}$"),
                                   name="authtoken_digest_is_sha256"),
        ]

    @staticmethod
    def digest_of(token):
        return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- Flavors and images -------------------------------------------------

class Flavor(models.Model):
    cpu = models.IntegerField()
    ram = models.IntegerField(help_text="MiB")
    disk = models.IntegerField(help_text="GiB")
    disk_template = models.CharField(max_length=32)
    deleted = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cpu", "ram", "disk", "disk_template"],
                                    name="flavor_unique_size_template"),
            models.CheckConstraint(condition=Q(cpu__gt=0), name="flavor_cpu_positive"),
            models.CheckConstraint(condition=Q(ram__gt=0), name="flavor_ram_positive"),
            models.CheckConstraint(condition=Q(disk__gt=0), name="flavor_disk_positive"),
            models.CheckConstraint(condition=~Q(disk_template=""), name="flavor_template_not_empty"),
            max_length_check("disk_template", 32, "flavor_template_length"),
        ]

    @property
    def name(self):
        return f"C{self.cpu}R{self.ram}D{self.disk}"

    def __str__(self):
        return self.name


IMAGE_DISK_FORMATS = ("diskdump", "extdump", "ntfsdump")
IMAGE_CONTAINER_FORMATS = ("aki", "ari", "ami", "bare", "ovf")
IMAGE_STATUSES = ("available", "queued", "saving", "deleted")


class Image(models.Model):
    """An OS image that servers are created from (the image registry)."""

    id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=255)
    owner = models.CharField(max_length=128, null=True, blank=True,
                             help_text="user uniq; empty for system images")
    location = models.CharField(max_length=1024, help_text="image backend id, e.g. pithos://...")
    disk_format = models.CharField(max_length=16, default="diskdump")
    container_format = models.CharField(max_length=16, default="bare")
    status = models.CharField(max_length=16, default="available")
    public = models.BooleanField(default=False)
    size = models.BigIntegerField(default=0)
    checksum = models.CharField(max_length=128, blank=True, default="")
    properties = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    deleted = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(id__regex=r"^[A-Za-z0-9_-]+$"), name="image_id_format"),
            models.CheckConstraint(condition=~Q(name=""), name="image_name_not_empty"),
            models.CheckConstraint(condition=~Q(location=""), name="image_location_not_empty"),
            in_choices("disk_format", IMAGE_DISK_FORMATS, "image_disk_format_valid"),
            in_choices("container_format", IMAGE_CONTAINER_FORMATS, "image_container_format_valid"),
            in_choices("status", IMAGE_STATUSES, "image_status_valid"),
            models.CheckConstraint(condition=Q(size__gte=0), name="image_size_not_negative"),
            max_length_check("name", 255, "image_name_length"),
        ]

    def __str__(self):
        return f"{self.id} ({self.name})"


# --- Ganeti backends ----------------------------------------------------

MAX_BACKENDS = 16


class Backend(models.Model):
    """A Ganeti cluster."""

    clustername = models.CharField(max_length=128, unique=True)
    port = models.IntegerField(default=5080)
    username = models.CharField(max_length=64, null=True, blank=True)
    password_encrypted = models.TextField(null=True, blank=True, db_column="password")
    # TLS: verify the cluster certificate against the system CAs or a CA file
    # (ssl_ca_file), or pin the certificate's SHA-256 fingerprint.
    ssl_verify = models.BooleanField(default=True)
    ssl_ca_file = models.CharField(max_length=1024, null=True, blank=True)
    ssl_fingerprint = models.CharField(max_length=95, null=True, blank=True)
    # A random version stamp of the connection settings: drawn anew whenever
    # a credential or TLS field changes (RAPI client cache key, copied into
    # VirtualMachine.backend_hash). Derived from nothing, so it reveals nothing.
    hash = models.CharField(max_length=64, editable=False, default="")
    index = models.IntegerField(unique=True)
    drained = models.BooleanField(default=False)
    offline = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(default=EPOCH, help_text="last refresh of resource stats")
    mfree = models.BigIntegerField(default=0)
    mtotal = models.BigIntegerField(default=0)
    dfree = models.BigIntegerField(default=0)
    dtotal = models.BigIntegerField(default=0)
    pinst_cnt = models.IntegerField(default=0)
    ctotal = models.IntegerField(default=0)

    class Meta:
        ordering = ["clustername"]
        constraints = [
            models.CheckConstraint(condition=Q(index__gte=0) & Q(index__lt=MAX_BACKENDS),
                                   name="backend_index_range"),
            models.CheckConstraint(condition=Q(port__gt=0) & Q(port__lte=65535),
                                   name="backend_port_range"),
            models.CheckConstraint(condition=~Q(clustername=""), name="backend_clustername_not_empty"),
            models.CheckConstraint(
                condition=Q(mfree__gte=0) & Q(mtotal__gte=0) & Q(dfree__gte=0)
                & Q(dtotal__gte=0) & Q(pinst_cnt__gte=0) & Q(ctotal__gte=0),
                name="backend_stats_not_negative"),
            models.CheckConstraint(
                condition=Q(password_encrypted__isnull=True) | Q(password_encrypted__startswith="fernet:"),
                name="backend_password_encrypted"),
        ]

    def __str__(self):
        return self.clustername

    @property
    def password(self):
        return secrets.decrypt(self.password_encrypted,
                               what="the RAPI password of backend %s (%s)" % (self.pk, self.clustername))

    @password.setter
    def password(self, value):
        self.password_encrypted = secrets.encrypt(value) if value is not None else None

    @classmethod
    def from_db(cls, db, field_names, values):
        backend = super().from_db(db, field_names, values)
        backend._saved_connection = backend.connection_settings()
        return backend

    def connection_settings(self):
        """The loaded values of ``CONNECTION_FIELDS`` (deferred ones are not loaded)."""
        return tuple(self.__dict__.get(field) for field in CONNECTION_FIELDS)

    def save(self, *args, **kwargs):
        """A new ``hash`` stamp when the connection settings changed (nothing is decrypted)."""
        if not self.hash or self.connection_settings() != getattr(self, "_saved_connection", None):
            self.hash = random_secrets.token_hex(16)
        super().save(*args, **kwargs)
        self._saved_connection = self.connection_settings()


CONNECTION_FIELDS = ("clustername", "port", "username", "password_encrypted", "ssl_verify",
                     "ssl_ca_file", "ssl_fingerprint")


# --- Virtual machines ---------------------------------------------------

OPER_STATES = ("BUILD", "ERROR", "STOPPED", "STARTED", "DESTROYED")
ACTIONS = ("CREATE", "START", "STOP", "SUSPEND", "REBOOT", "DESTROY")
JOB_STATUSES = ("queued", "waiting", "canceling", "running", "canceled", "success", "error")
TASKS = ("BUILD", "START", "STOP", "REBOOT", "DESTROY", "CONNECT", "DISCONNECT", "FIREWALL")


class VirtualMachine(models.Model):
    name = models.CharField(max_length=255)
    userid = models.CharField(max_length=128, db_index=True)
    backend = models.ForeignKey(Backend, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="virtual_machines")
    backend_hash = models.CharField(max_length=128, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)
    imageid = models.CharField(max_length=100)
    hostid = models.CharField(max_length=100, blank=True, default="")
    flavor = models.ForeignKey(Flavor, on_delete=models.PROTECT)
    deleted = models.BooleanField(default=False, db_index=True)
    suspended = models.BooleanField(default=False)
    action = models.CharField(max_length=30, null=True, blank=True)
    operstate = models.CharField(max_length=30, default="BUILD")
    # The pending task (e.g. STOP while a shutdown job runs), cleared by the
    # dispatcher when that job ends.
    task = models.CharField(max_length=30, null=True, blank=True)
    task_job_id = models.BigIntegerField(null=True, blank=True)
    backendjobid = models.BigIntegerField(null=True, blank=True)
    backendopcode = models.CharField(max_length=64, null=True, blank=True)
    backendjobstatus = models.CharField(max_length=30, null=True, blank=True)
    backendlogmsg = models.TextField(null=True, blank=True)
    buildpercentage = models.IntegerField(default=0)
    # Ordering watermark of op-status (Ganeti job timestamps of the master).
    backendtime = models.DateTimeField(default=EPOCH)
    # Ordering watermark of net-status: the hook's wall clock, not comparable
    # with job timestamps, hence its own column. NULL = no NIC set applied yet.
    nics_backendtime = models.DateTimeField(null=True, blank=True)
    # When reconciliation last compared this server with Ganeti (NULL: never);
    # the staggered mode checks the servers reconciled longest ago first.
    last_reconciled = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        # (id, updated) after (userid, deleted): a warm server list reads its
        # keys from the index alone (synnefo.api.server_rows.live_keys)
        indexes = [models.Index(fields=["userid", "deleted", "id", "updated"], name="vm_user_live_keys"),
                   # changes-since polls: a poll that finds nothing reads no row
                   models.Index(fields=["userid", "updated"], name="vm_user_updated"),
                   models.Index(fields=["deleted", "last_reconciled"], name="vm_reconcile_order")]
        constraints = [
            in_choices("operstate", OPER_STATES, "vm_operstate_valid"),
            models.CheckConstraint(condition=Q(action__isnull=True) | Q(action__in=ACTIONS),
                                   name="vm_action_valid"),
            models.CheckConstraint(condition=Q(task__isnull=True) | Q(task__in=TASKS),
                                   name="vm_task_valid"),
            models.CheckConstraint(
                condition=Q(backendjobstatus__isnull=True) | Q(backendjobstatus__in=JOB_STATUSES),
                name="vm_jobstatus_valid"),
            models.CheckConstraint(condition=Q(buildpercentage__gte=0) & Q(buildpercentage__lte=100),
                                   name="vm_buildpercentage_range"),
            models.CheckConstraint(condition=~Q(userid=""), name="vm_userid_not_empty"),
            max_length_check("name", 255, "vm_name_length"),
            models.CheckConstraint(condition=Q(deleted=False) | Q(operstate="DESTROYED"),
                                   name="vm_deleted_is_destroyed"),
        ]

    def __str__(self):
        return f"{self.id} ({self.name})"


class VirtualMachineMetadata(models.Model):
    meta_key = models.CharField(max_length=50)
    meta_value = models.CharField(max_length=500)
    vm = models.ForeignKey(VirtualMachine, on_delete=models.CASCADE, related_name="metadata")

    class Meta:
        ordering = ["meta_key"]
        constraints = [
            models.UniqueConstraint(fields=["meta_key", "vm"], name="vm_metadata_unique_key"),
            models.CheckConstraint(condition=~Q(meta_key=""), name="vm_metadata_key_not_empty"),
            max_length_check("meta_key", 50, "vm_metadata_key_length"),
            max_length_check("meta_value", 500, "vm_metadata_value_length"),
        ]


class CreateSubmission(models.Model):
    """A create job committed with its server but not yet submitted to Ganeti.

    Written in the create's transaction (with the server in BUILD, its
    address and the limit check) and removed in the transaction that records
    the outcome of the submission (the job id, or ERROR with Ganeti's reason):
    see :mod:`synnefo.logic.create_submit`. ``payload`` is the CreateInstance
    body, encrypted (it holds the server's password). ``claimed_until``: a
    submitter holds it until then; a row unclaimed for long, or whose claim
    expired, is submitted by the dispatchers' sweeper. ``attempts`` counts the
    claims: after the first, Ganeti's job list is read before submitting again.
    """

    machine = models.OneToOneField(VirtualMachine, on_delete=models.CASCADE, primary_key=True,
                                   related_name="create_submission")
    payload = models.TextField()
    charged = models.BooleanField(default=False, help_text="the allocator charged the backend")
    created = models.DateTimeField(auto_now_add=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)

    class Meta:
        ordering = ["machine_id"]
        constraints = [
            models.CheckConstraint(condition=Q(payload__startswith="fernet:"),
                                   name="createsubmission_payload_encrypted"),
            models.CheckConstraint(condition=Q(attempts__gte=0), name="createsubmission_attempts"),
        ]

    def __str__(self):
        return "create of server %s (%d attempts)" % (self.machine_id, self.attempts)


DIAGNOSTIC_LEVELS = ("ERROR", "WARNING", "INFO", "DEBUG")


class VirtualMachineDiagnostic(models.Model):
    machine = models.ForeignKey(VirtualMachine, on_delete=models.CASCADE, related_name="diagnostics")
    created = models.DateTimeField(auto_now_add=True)
    level = models.CharField(max_length=20)
    source = models.CharField(max_length=100)
    source_date = models.DateTimeField(null=True, blank=True)
    message = models.CharField(max_length=255)
    details = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [in_choices("level", DIAGNOSTIC_LEVELS, "diagnostic_level_valid")]


# --- Networks -----------------------------------------------------------

NETWORK_TYPES = ("PUBLIC_ROUTED", "PRIVATE_PHYSICAL_VLAN", "PRIVATE_MAC_FILTERED",
                 "CUSTOM_ROUTED", "CUSTOM_BRIDGED")
NETWORK_STATES = ("PENDING", "ACTIVE", "DELETED", "ERROR")
NETWORK_ACTIONS = ("CREATE", "DESTROY")


class Network(models.Model):
    name = models.CharField(max_length=128)
    userid = models.CharField(max_length=128, null=True, blank=True, db_index=True)
    subnet = models.CharField(max_length=32, default="10.0.0.0/24")
    subnet6 = models.CharField(max_length=64, null=True, blank=True)
    gateway = models.CharField(max_length=32, null=True, blank=True)
    gateway6 = models.CharField(max_length=64, null=True, blank=True)
    dhcp = models.BooleanField(default=True)
    type = models.CharField(max_length=50, default="PRIVATE_PHYSICAL_VLAN")
    link = models.CharField(max_length=128, null=True, blank=True)
    mac_prefix = models.CharField(max_length=32)
    public = models.BooleanField(default=False, db_index=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    deleted = models.BooleanField(default=False, db_index=True)
    state = models.CharField(max_length=32, default="PENDING")
    action = models.CharField(max_length=32, null=True, blank=True)
    machines = models.ManyToManyField(VirtualMachine, through="NetworkInterface",
                                      related_name="networks")

    class Meta:
        ordering = ["id"]
        constraints = [
            in_choices("type", NETWORK_TYPES, "network_type_valid"),
            in_choices("state", NETWORK_STATES, "network_state_valid"),
            models.CheckConstraint(condition=Q(action__isnull=True) | Q(action__in=NETWORK_ACTIONS),
                                   name="network_action_valid"),
            models.CheckConstraint(condition=Q(public=True) | Q(userid__isnull=False),
                                   name="network_private_has_owner"),
            models.CheckConstraint(condition=~Q(subnet=""), name="network_subnet_not_empty"),
            max_length_check("name", 128, "network_name_length"),
            models.CheckConstraint(condition=Q(deleted=False) | Q(state="DELETED"),
                                   name="network_deleted_is_state_deleted"),
        ]

    def __str__(self):
        return f"{self.id} ({self.name})"


class BackendNetwork(models.Model):
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="backend_networks")
    backend = models.ForeignKey(Backend, on_delete=models.CASCADE, related_name="networks")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    deleted = models.BooleanField(default=False)
    mac_prefix = models.CharField(max_length=32)
    operstate = models.CharField(max_length=30, default="PENDING")
    backendjobid = models.BigIntegerField(null=True, blank=True)
    backendopcode = models.CharField(max_length=64, null=True, blank=True)
    backendjobstatus = models.CharField(max_length=30, null=True, blank=True)
    backendlogmsg = models.TextField(null=True, blank=True)
    backendtime = models.DateTimeField(default=EPOCH)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["network", "backend"], name="backendnetwork_unique"),
            in_choices("operstate", NETWORK_STATES, "backendnetwork_operstate_valid"),
            models.CheckConstraint(
                condition=Q(backendjobstatus__isnull=True) | Q(backendjobstatus__in=JOB_STATUSES),
                name="backendnetwork_jobstatus_valid"),
        ]


FIREWALL_PROFILES = ("ENABLED", "DISABLED", "PROTECTED")


class NetworkInterface(models.Model):
    machine = models.ForeignKey(VirtualMachine, on_delete=models.CASCADE, related_name="nics")
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="nics")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    index = models.IntegerField()
    mac = models.CharField(max_length=32, unique=True)
    ipv4 = models.CharField(max_length=15, null=True, blank=True)
    ipv6 = models.CharField(max_length=100, null=True, blank=True)
    firewall_profile = models.CharField(max_length=30, null=True, blank=True)
    dirty = models.BooleanField(default=False)

    class Meta:
        ordering = ["machine_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["machine", "index"], name="nic_unique_index_per_vm"),
            models.CheckConstraint(condition=Q(index__gte=0), name="nic_index_not_negative"),
            models.CheckConstraint(
                condition=Q(mac__regex=r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$"), name="nic_mac_format"),
            models.CheckConstraint(
                condition=Q(firewall_profile__isnull=True) | Q(firewall_profile__in=FIREWALL_PROFILES),
                name="nic_firewall_profile_valid"),
        ]

    @property
    def attachment_id(self):
        return f"nic-{self.machine_id}-{self.index}"


PENDING_NIC_KINDS = ("CREATE", "CONNECT")


class PendingNic(models.Model):
    """A NIC Cyclades asked Ganeti for that Ganeti has not reported yet.

    Written with the job that asks for it (the public NIC of a create, the NIC
    of a network connect), together with the IPv4 taken from the network's
    pool for it (``ipv4`` is null when the network hands out no address).
    It ends in one of two ways, both decided by :mod:`synnefo.logic.state`:
    Ganeti reports the NIC (the address now belongs to a ``NetworkInterface``
    row and this row goes), or the job fails, is canceled, or the server is
    removed first (the address goes back to its pool and this row goes).
    While it exists the network counts as in use.
    """

    machine = models.ForeignKey(VirtualMachine, on_delete=models.CASCADE, related_name="pending_nics")
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="pending_nics")
    kind = models.CharField(max_length=16)
    ipv4 = models.CharField(max_length=15, null=True, blank=True)
    job_id = models.BigIntegerField(null=True, blank=True,
                                    help_text="the Ganeti job adding the NIC, once known")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            in_choices("kind", PENDING_NIC_KINDS, "pendingnic_kind_valid"),
            models.UniqueConstraint(fields=["network", "ipv4"], name="pendingnic_unique_ipv4"),
        ]

    def __str__(self):
        return "%s NIC of server %s on network %s (%s)" % (
            self.kind.lower(), self.machine_id, self.network_id, self.ipv4 or "no address")


# --- Pools --------------------------------------------------------------

class _PoolTable(models.Model):
    available_map = models.TextField(default="", blank=True)
    reserved_map = models.TextField(default="", blank=True)
    size = models.IntegerField()
    base = models.CharField(max_length=32, null=True, blank=True)
    offset = models.IntegerField(null=True, blank=True)

    class Meta:
        abstract = True


class BridgePoolTable(_PoolTable):
    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0), name="bridgepool_size_positive")]


class MacPrefixPoolTable(_PoolTable):
    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0), name="macprefixpool_size_positive")]


class IPPoolTable(_PoolTable):
    network = models.OneToOneField(Network, on_delete=models.CASCADE, related_name="pool",
                                   null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0), name="ippool_size_positive")]


# --- Reconciliation runs ------------------------------------------------

class ReconciliationRun(models.Model):
    """One run of a reconcile-* command and its findings (only the latest
    runs of each command are kept, see synnefo.logic.reconciliation.history)."""

    command = models.CharField(max_length=64, help_text="e.g. reconcile-servers")
    options = models.CharField(max_length=1000, blank=True, help_text="options given, e.g. --fix-all")
    started = models.DateTimeField()
    finished = models.DateTimeField()
    exit_status = models.SmallIntegerField(help_text="0 in sync, 1 found and not fixed, 2 errors")
    summary = models.CharField(max_length=255, blank=True, help_text="e.g. 12 server(s) checked")

    class Meta:
        ordering = ["-started", "-id"]
        indexes = [models.Index(fields=["command", "-started"], name="reconcile_run_command")]
        constraints = [
            models.CheckConstraint(condition=~Q(command=""), name="reconcilerun_command_not_empty"),
            models.CheckConstraint(condition=Q(exit_status__gte=0, exit_status__lte=2),
                                   name="reconcilerun_exit_status_valid"),
        ]

    def __str__(self):
        return "%s at %s: exit %s" % (self.command, self.started, self.exit_status)


class ReconciliationFinding(models.Model):
    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="findings")
    backend = models.CharField(max_length=255, null=True, blank=True)
    kind = models.CharField(max_length=64)
    obj = models.CharField(max_length=255, null=True, blank=True)
    details = models.TextField()
    result = models.CharField(max_length=32, help_text="reported, fixed, fix failed or error")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return "%s %s: %s" % (self.kind, self.obj, self.result)


# --- Idempotency keys ---------------------------------------------------

IDEMPOTENT_KINDS = ("server", "network")


class IdempotencyKey(models.Model):
    """A create request's ``X-Idempotency-Key``, recorded in the transaction
    that creates the object, so that a retry of the same request returns the
    same object (synnefo.logic.idempotency). Kept ``IDEMPOTENCY_KEY_RETENTION``
    seconds."""

    userid = models.CharField(max_length=128)
    kind = models.CharField(max_length=16)
    key = models.CharField(max_length=255)
    # SHA-256 of the request's parameters: the same key with another body is refused.
    digest = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    # The create answer's one-time secret (a server's adminPass), encrypted.
    secret = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["userid", "kind", "key"], name="idempotency_key_unique"),
            in_choices("kind", IDEMPOTENT_KINDS, "idempotency_kind_valid"),
            models.CheckConstraint(condition=~Q(key=""), name="idempotency_key_not_empty"),
            max_length_check("key", 255, "idempotency_key_length"),
        ]

    def __str__(self):
        return "%s %s of %s: %s" % (self.kind, self.key, self.userid, self.object_id)
