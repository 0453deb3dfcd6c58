"""Bitmap resource pools: bridges, MAC prefixes and IPv4 addresses (spec 04 §4).

A pool of ``size`` values keeps two bit arrays of ``size`` rounded up to a
multiple of 8 bits:

* ``available``: 1 = not handed out by Cyclades, 0 = allocated;
* ``reserved``: 1 = not reserved, 0 = reserved by the admin or the system.

A value is free when both bits are 1. Padding bits are permanently reserved.
Each array is stored base64-encoded (bytes in big-endian bit order) in the
row's ``available_map`` / ``reserved_map``; an empty ``available_map`` means the
row was never initialised, and the pool is then built from ``size`` with the
type's initial reservations.

Every constructor loads its row ``SELECT ... FOR UPDATE``: use pools inside
``transaction.atomic()`` and call :meth:`Pool.save` to write changes back.
"""

import base64
import ipaddress

from django.conf import settings
from synnefo.db.models import BridgePoolTable, IPPoolTable, MacPrefixPoolTable


class PoolError(Exception):
    """Base class of pool errors."""


class PoolExhausted(PoolError):
    """No free value is left."""


class PoolNotConfigured(PoolError):
    """The pool row does not exist (see ``snf-manage pool-create``)."""


class InvalidValue(PoolError, ValueError):
    """The value does not belong to the pool."""


def _padded(size):
    return (size + 7) // 8 * 8


def _encode(bits):
    data = bytearray(len(bits) // 8)
    for i, bit in enumerate(bits):
        if bit:
            data[i >> 3] |= 0x80 >> (i & 7)
    return base64.b64encode(bytes(data)).decode("ascii")


def _decode(text, length):
    data = base64.b64decode(text.encode("ascii")) if text else b""
    bits = [False] * length
    for i in range(min(length, len(data) * 8)):
        bits[i] = bool(data[i >> 3] & (0x80 >> (i & 7)))
    return bits


class Pool:
    """A bitmap pool over one pool-table row (already locked by the caller)."""

    def __init__(self, row):
        self.row = row
        self.size = row.size
        self.length = _padded(self.size)
        if row.available_map:
            self.available = _decode(row.available_map, self.length)
            self.reserved = _decode(row.reserved_map, self.length)
        else:
            self.available = [True] * self.length
            self.reserved = [True] * self.size + [False] * (self.length - self.size)
            self.initial_reservations()

    # -- type specific -----------------------------------------------------

    def initial_reservations(self):
        """Reserve the values that must never be handed out (on first load)."""

    def index_of(self, value):
        raise NotImplementedError

    def value_of(self, index):
        raise NotImplementedError

    # -- operations --------------------------------------------------------

    def _index(self, value):
        index = self.index_of(value)
        if index is None or not 0 <= index < self.size:
            raise InvalidValue("%r does not belong to this pool" % (value,))
        return index

    def _free(self, index):
        return self.available[index] and self.reserved[index]

    def get(self):
        """Hand out the lowest free value."""
        for index in range(self.size):
            if self._free(index):
                self.available[index] = False
                return self.value_of(index)
        raise PoolExhausted("pool is exhausted")

    def put(self, value, external=False):
        """Return a value handed out by :meth:`get`; ``external=True`` releases
        an external reservation instead."""
        index = self._index(value)
        if external:
            self.reserved[index] = True
        else:
            self.available[index] = True

    def reserve(self, value, external=False):
        """Mark a value allocated (e.g. Ganeti reports it in use) or, with
        ``external=True``, reserved by the administrator."""
        index = self._index(value)
        if external:
            self.reserved[index] = False
        else:
            self.available[index] = False

    def release_external(self, value):
        self.put(value, external=True)

    def is_available(self, value):
        return self._free(self._index(value))

    def is_reserved(self, value):
        return not self.reserved[self._index(value)]

    def count_available(self):
        return sum(1 for i in range(self.size) if self._free(i))

    def count_reserved(self):
        """Reserved values (padding bits excluded)."""
        return sum(1 for i in range(self.size) if not self.reserved[i])

    def count_unavailable(self):
        return self.size - self.count_available()

    def to_map(self):
        """``.`` for every free value, ``X`` for every other one."""
        return "".join("." if self._free(i) else "X" for i in range(self.size))

    def available_to_map(self):
        return "".join("." if self.available[i] else "X" for i in range(self.size))

    def reserved_to_map(self):
        return "".join("." if self.reserved[i] else "X" for i in range(self.size))

    def save(self):
        self.row.available_map = _encode(self.available)
        self.row.reserved_map = _encode(self.reserved)
        self.row.save(update_fields=["available_map", "reserved_map", "size", "base", "offset"])


class BridgePool(Pool):
    """Bridges ``<base>1`` ... ``<base><size>``."""

    model = BridgePoolTable

    @classmethod
    def locked(cls):
        row = cls.model.objects.select_for_update().order_by("id").first()
        if row is None:
            raise PoolNotConfigured("no %s row: create one with snf-manage pool-create" % cls.__name__)
        return cls(row)

    @property
    def base(self):
        return self.row.base or ""

    def value_of(self, index):
        return "%s%d" % (self.base, index + 1)

    def index_of(self, value):
        value = str(value)
        if not value.startswith(self.base):
            return None
        rest = value[len(self.base):]
        if not rest.isdigit():
            return None
        return int(rest) - 1


MAC_PREFIX_DIGITS = 5


def _mac_prefix_int(prefix):
    digits = prefix.replace(":", "").lower()
    if len(digits) != MAC_PREFIX_DIGITS:
        raise InvalidValue("MAC prefix %r must have %d hex digits" % (prefix, MAC_PREFIX_DIGITS))
    try:
        return int(digits, 16)
    except ValueError:
        raise InvalidValue("MAC prefix %r is not hexadecimal" % (prefix,))


def _mac_prefix_str(number):
    digits = "%05x" % number
    return ":".join(digits[i:i + 2] for i in range(0, MAC_PREFIX_DIGITS, 2))


def valid_mac_prefix(prefix):
    """Unicast and locally administered first octet."""
    first = int(prefix.replace(":", "")[:2], 16)
    return not first & 0x01 and bool(first & 0x02)


class MacPrefixPool(BridgePool):
    """5-hex-digit MAC prefixes ``base``, ``base+1`` ... (``aa:00:0``, ``aa:00:1``)."""

    model = MacPrefixPoolTable

    @property
    def base(self):
        return self.row.base or settings.MAC_POOL_BASE

    def value_of(self, index):
        return _mac_prefix_str(_mac_prefix_int(self.base) + index)

    def index_of(self, value):
        try:
            return _mac_prefix_int(str(value)) - _mac_prefix_int(self.base)
        except InvalidValue:
            return None

    def initial_reservations(self):
        base = _mac_prefix_int(self.base)
        # The base itself belongs to public/non-filtered networks.
        self.reserved[0] = False
        for index in range(1, self.size):
            number = base + index
            if number >= 16 ** MAC_PREFIX_DIGITS or not valid_mac_prefix(_mac_prefix_str(number)):
                self.reserved[index] = False


class IPPool(Pool):
    """The IPv4 addresses of one network's subnet."""

    def __init__(self, row, network):
        self.network_obj = network
        self.subnet = ipaddress.IPv4Network(network.subnet, strict=False)
        super().__init__(row)

    @classmethod
    def for_network(cls, network):
        """Load (creating it if missing) and lock the network's pool row."""
        row = IPPoolTable.objects.select_for_update().filter(network=network).first()
        if row is None:
            subnet = ipaddress.IPv4Network(network.subnet, strict=False)
            IPPoolTable.objects.create(network=network, size=subnet.num_addresses)
            row = IPPoolTable.objects.select_for_update().get(network=network)
        return cls(row, network)

    def value_of(self, index):
        return str(self.subnet.network_address + index)

    def index_of(self, value):
        try:
            address = ipaddress.IPv4Address(str(value))
        except ValueError:
            return None
        return int(address) - int(self.subnet.network_address)

    def initial_reservations(self):
        self.reserved[0] = False
        self.reserved[self.size - 1] = False
        gateway = self.network_obj.gateway
        if gateway:
            index = self.index_of(gateway)
            if index is not None and 0 <= index < self.size:
                self.reserved[index] = False


def usage(pool):
    """``{"size", "used", "reserved", "free"}`` of ``pool``: values handed out,
    values reserved (never handed out) and values free."""
    free = pool.count_available()
    reserved = pool.count_reserved()
    return {"size": pool.size, "used": max(0, pool.size - free - reserved), "reserved": reserved,
            "free": free}
