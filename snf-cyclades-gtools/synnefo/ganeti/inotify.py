"""Linux inotify through ctypes: just what eventd needs (one watch, timed reads).

Debian ships no binding that fits (python3-pyinotify is callback-shaped), and a
Ganeti node must install from Debian's archive plus our packages, so this is a
small module of our own rather than a third-party dependency.
"""

import array
import ctypes
import ctypes.util
import fcntl
import os
import select
import struct
import termios
from collections import namedtuple

# <linux/inotify.h>
ACCESS, MODIFY, ATTRIB, CLOSE_WRITE = 0x1, 0x2, 0x4, 0x8
CLOSE_NOWRITE, OPEN, MOVED_FROM, MOVED_TO = 0x10, 0x20, 0x40, 0x80
CREATE, DELETE, DELETE_SELF, MOVE_SELF = 0x100, 0x200, 0x400, 0x800
Q_OVERFLOW, IGNORED = 0x4000, 0x8000
_IN_CLOEXEC, _IN_NONBLOCK = 0o2000000, 0o4000

_HEADER = struct.Struct("iIII")   # wd, mask, cookie, len; then len bytes of name
Event = namedtuple("Event", "wd mask cookie name")

_libc = None


def _lib():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


def _check(result):
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def parse_events(data):
    """The events packed in one read() of an inotify descriptor."""
    events, offset = [], 0
    while offset + _HEADER.size <= len(data):
        wd, mask, cookie, length = _HEADER.unpack_from(data, offset)
        offset += _HEADER.size
        name = data[offset:offset + length].split(b"\0", 1)[0]
        offset += length
        events.append(Event(wd, mask, cookie, os.fsdecode(name)))
    return events


class INotify:
    """An inotify descriptor; ``read(timeout)`` returns a list of :class:`Event`."""

    def __init__(self):
        self.fd = _check(_lib().inotify_init1(_IN_CLOEXEC | _IN_NONBLOCK))

    def add_watch(self, path, mask):
        return _check(_lib().inotify_add_watch(self.fd, os.fsencode(path), ctypes.c_uint32(mask)))

    def read(self, timeout=None):
        """Every event queued within ``timeout`` milliseconds (None: wait), else [].

        One read takes all that the kernel holds (its size asked with FIONREAD),
        so an overflow mark at the end of a full queue comes with the rest."""
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        if not poller.poll(timeout):
            return []
        pending = array.array("i", [0])
        fcntl.ioctl(self.fd, termios.FIONREAD, pending, True)
        try:
            return parse_events(os.read(self.fd, max(pending[0], 4096)))
        except BlockingIOError:
            return []

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
