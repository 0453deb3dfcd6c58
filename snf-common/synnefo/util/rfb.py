"""Pieces of the RFB (VNC) protocol, RFC 6143, shared by the proxy, the
simulator's VNC servers and our test client (no Django, no asyncio).

Only what a console path needs: the version strings, the security types
None and VNC Authentication, and the VNC Authentication response (DES of
the 16-byte challenge keyed with the password, each key byte bit-reversed). The response needs the
``cryptography`` package (a dependency of snf-vncauthproxy and snf-tools;
snf-common alone does not pull it in, so it is imported on use).
"""

import os
import struct

VERSION_3_3 = b"RFB 003.003\n"
VERSION_3_7 = b"RFB 003.007\n"
VERSION_3_8 = b"RFB 003.008\n"
VERSION_LENGTH = 12

SECURITY_INVALID = 0
SECURITY_NONE = 1
SECURITY_VNC_AUTH = 2

CHALLENGE_LENGTH = 16
RESULT_OK = struct.pack(">I", 0)
RESULT_FAILED = struct.pack(">I", 1)


class RfbProtocolError(Exception):
    """The peer does not speak RFB the way RFC 6143 says."""


def parse_version(data):
    """``b"RFB 003.008\\n"`` -> ``(3, 8)``; RFC 6143 §7.1.1: versions other
    than 3.7 and 3.8 are to be treated as 3.3."""
    if len(data) != VERSION_LENGTH or not data.startswith(b"RFB ") or data[7:8] != b"." \
            or not data.endswith(b"\n"):
        raise RfbProtocolError("not an RFB protocol version: %r" % data[:VERSION_LENGTH])
    try:
        major, minor = int(data[4:7]), int(data[8:11])
    except ValueError:
        raise RfbProtocolError("not an RFB protocol version: %r" % data) from None
    if major != 3:
        raise RfbProtocolError("unsupported RFB version %d.%d" % (major, minor))
    return (3, minor) if minor in (7, 8) else (3, 3)


def _reverse_bits(byte):
    return int(f"{byte:08b}"[::-1], 2)


def vnc_auth_key(password):
    """The DES key of VNC Authentication: the password's first 8 bytes
    (Latin-1/UTF-8, zero-padded), each byte's bits in reverse order."""
    raw = password.encode("utf-8") if isinstance(password, str) else bytes(password)
    raw = raw[:8].ljust(8, b"\0")
    return bytes(_reverse_bits(b) for b in raw)


def vnc_auth_response(challenge, password):
    """The 16-byte answer to a VNC Authentication challenge."""
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    if len(challenge) != CHALLENGE_LENGTH:
        raise RfbProtocolError("a VNC challenge has 16 bytes, got %d" % len(challenge))
    key = vnc_auth_key(password)
    # Triple DES with three equal keys is single DES.
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return encryptor.update(challenge) + encryptor.finalize()


def new_challenge():
    return os.urandom(CHALLENGE_LENGTH)


def failure_reason(text):
    """A SecurityResult failure reason (RFB 3.8): u32 length + UTF-8 text."""
    data = text.encode("utf-8")
    return struct.pack(">I", len(data)) + data


# --- pixel formats (RFC 6143 §7.4) ---------------------------------------
PIXEL_FORMAT = struct.Struct(">BBBBHHHBBB3x")
# What our servers offer and our client asks for: 32 bits per pixel, depth
# 24, little-endian, true colour, red/green/blue at bits 16/8/0.
BGRX32 = PIXEL_FORMAT.pack(32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
SERVER_INIT = struct.Struct(">HH16sI")
