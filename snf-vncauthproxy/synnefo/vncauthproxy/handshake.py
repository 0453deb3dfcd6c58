"""The two RFB handshakes of a forwarding (RFC 6143 §7.1-7.2).

Toward the VM the proxy is a client that asks for no authentication
(Ganeti's KVM VNC servers have none); toward the user it is a server that
offers only VNC Authentication with the one-time password. Both stop right
after the security phase: from ClientInit on, bytes are relayed as they are.
"""

import hmac
import struct

from synnefo.util import rfb


class HandshakeError(Exception):
    """One line for the log (and, toward a 3.8 client, the failure reason)."""


async def vm_handshake(channel):
    """Handshake with the VM's VNC server up to the end of the security phase."""
    version = rfb.parse_version(await channel.readexactly(rfb.VERSION_LENGTH))
    if version == (3, 3):
        channel.write(rfb.VERSION_3_3)
        (sectype,) = struct.unpack(">I", await channel.readexactly(4))
        if sectype == rfb.SECURITY_INVALID:
            raise HandshakeError("the VNC server refused the connection: %s" % await _reason(channel))
        if sectype != rfb.SECURITY_NONE:
            raise HandshakeError("the VNC server asks for security type %d, not None" % sectype)
        return version
    channel.write(rfb.VERSION_3_8 if version == (3, 8) else rfb.VERSION_3_7)
    (count,) = await channel.readexactly(1)
    if count == 0:
        raise HandshakeError("the VNC server refused the connection: %s" % await _reason(channel))
    types = await channel.readexactly(count)
    if rfb.SECURITY_NONE not in types:
        raise HandshakeError("the VNC server offers security types %s, not None (1)" % list(types))
    channel.write(bytes([rfb.SECURITY_NONE]))
    if version == (3, 8):
        result = await channel.readexactly(4)
        if result != rfb.RESULT_OK:
            raise HandshakeError("the VNC server refused security type None: %s" % await _reason(channel))
    return version


async def _reason(channel):
    try:
        (length,) = struct.unpack(">I", await channel.readexactly(4))
        return (await channel.readexactly(min(length, 1024))).decode("utf-8", "replace")
    except Exception:
        return "(no reason given)"


async def client_handshake(channel, password):
    """Authenticate a user's client with VNC Authentication; raise on failure
    (after telling the client, the way its version expects)."""
    channel.write(rfb.VERSION_3_8)
    await channel.drain()
    try:
        version = rfb.parse_version(await channel.readexactly(rfb.VERSION_LENGTH))
    except rfb.RfbProtocolError as exc:
        raise HandshakeError(str(exc)) from None
    if version == (3, 3):
        channel.write(struct.pack(">I", rfb.SECURITY_VNC_AUTH))
    else:
        channel.write(bytes([1, rfb.SECURITY_VNC_AUTH]))
        await channel.drain()
        (choice,) = await channel.readexactly(1)
        if choice != rfb.SECURITY_VNC_AUTH:
            if version == (3, 8):
                channel.write(rfb.RESULT_FAILED + rfb.failure_reason("only VNC Authentication is offered"))
            raise HandshakeError("the client chose security type %d, not VNC Authentication" % choice)
    challenge = rfb.new_challenge()
    channel.write(challenge)
    await channel.drain()
    response = await channel.readexactly(rfb.CHALLENGE_LENGTH)
    if not hmac.compare_digest(response, rfb.vnc_auth_response(challenge, password)):
        channel.write(rfb.RESULT_FAILED)
        if version == (3, 8):
            channel.write(rfb.failure_reason("Authentication failed"))
        await channel.drain()
        raise HandshakeError("wrong password")
    channel.write(rfb.RESULT_OK)
    await channel.drain()
    return version
