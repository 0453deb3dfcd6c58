"""synnefo.util.rfb: versions and the VNC Authentication response."""

import pytest
from synnefo.util import rfb

# Answer of vncsnapshot 1.2a (TightVNC's d3des, an implementation of its own)
# to the challenge 00 01 .. 0f with the password "Secret12xyz", captured once.
KNOWN_CHALLENGE = bytes(range(16))
KNOWN_RESPONSE = bytes.fromhex("87e584d4d47d3a3bd452491de1935e3a")


def test_vnc_auth_response_matches_a_standard_client():
    assert rfb.vnc_auth_response(KNOWN_CHALLENGE, "Secret12xyz") == KNOWN_RESPONSE
    # only the first 8 characters count
    assert rfb.vnc_auth_response(KNOWN_CHALLENGE, "Secret12") == KNOWN_RESPONSE
    assert rfb.vnc_auth_response(KNOWN_CHALLENGE, "Secret13") != KNOWN_RESPONSE


def test_key_bytes_are_bit_reversed_and_padded():
    assert rfb.vnc_auth_key("a") == bytes([0x86]) + bytes(7)     # 0x61 = 01100001 -> 10000110
    assert rfb.vnc_auth_key(b"\x01\x80") == b"\x80\x01" + bytes(6)
    with pytest.raises(rfb.RfbProtocolError):
        rfb.vnc_auth_response(b"short", "pw")


@pytest.mark.parametrize("text,version", [
    (b"RFB 003.008\n", (3, 8)), (b"RFB 003.007\n", (3, 7)), (b"RFB 003.003\n", (3, 3)),
    (b"RFB 003.889\n", (3, 3)),   # Apple's: treated as 3.3 (RFC 6143 7.1.1)
])
def test_versions(text, version):
    assert rfb.parse_version(text) == version


@pytest.mark.parametrize("text", [b"HTTP/1.1 200", b"RFB 004.000\n", b"RFB 00x.008\n", b"RFB 003.008"])
def test_not_versions(text):
    with pytest.raises(rfb.RfbProtocolError):
        rfb.parse_version(text)
