"""The console path end to end: API -> snf-vncauthproxy -> the VM's VNC
server (the simulator's), with our RFB client; on the real Ganeti (fake
hypervisor, no VNC) a clear fault."""

import pytest
from synnefo.tools.vnc_client import VncError, fetch_framebuffer

pytestmark = pytest.mark.slow


def console(api, server_id, kind):
    return api.session.post(f"{api.base}/servers/{server_id}/action", json={"console": {"type": kind}},
                            timeout=30)


@pytest.fixture
def active_server(api, deployment):
    """One running server per deployment, shared by this module's tests."""
    if getattr(deployment, "console_server", None) is None:
        server = api.create_server(name="console")
        api.wait_status(server["id"], "ACTIVE", timeout=120)
        deployment.console_server = server["id"]
    return deployment.console_server


def test_console_through_the_proxy(api, deployment, rapi, active_server):
    if deployment.real:
        r = console(api, active_server, "vnc")
        assert r.status_code == 503, r.text
        message = r.json()["serviceUnavailable"]["message"]
        assert message.startswith("The server has no VNC console: Ganeti says:"), message
        return
    name = f"{deployment.prefix_id}{active_server}"
    vm_port = rapi.get_instance(name)["network_port"]
    r = console(api, active_server, "vnc")
    assert r.status_code == 200, r.text
    c = r.json()["console"]
    assert set(c) == {"type", "host", "port", "password"} and c["type"] == "vnc"
    # the proxy's address and one of its ports, never the node's VNC port
    assert c["host"] == "127.0.0.1" and c["port"] != vm_port
    fb = fetch_framebuffer(c["host"], c["port"], c["password"])
    assert fb.name == name and (fb.width, fb.height) == (480, 160)
    assert len(fb.pixels) == fb.width * fb.height * 4
    with pytest.raises(VncError):   # one client only
        fetch_framebuffer(c["host"], c["port"], c["password"], timeout=5)


def test_console_wrong_password(api, deployment, active_server):
    if deployment.real:
        pytest.skip("no VNC on Ganeti's fake hypervisor")
    c = console(api, active_server, "vnc").json()["console"]
    # VNC authentication keys DES with the first 8 characters: change one of them
    wrong = ("A" if c["password"][0] != "A" else "B") + c["password"][1:]
    with pytest.raises(VncError, match="authentication failed"):
        fetch_framebuffer(c["host"], c["port"], wrong)


def test_console_over_websocket(api, deployment, active_server):
    if deployment.real:
        pytest.skip("no VNC on Ganeti's fake hypervisor")
    r = console(api, active_server, "vnc-ws")
    assert r.status_code == 200, r.text
    c = r.json()["console"]
    assert c["type"] == "vnc-ws"
    fb = fetch_framebuffer(c["host"], c["port"], c["password"], websocket=True, path="/websockify")
    assert fb.name == f"{deployment.prefix_id}{active_server}"
    # make run's proxy has no TLS certificate: vnc-wss says so
    r = console(api, active_server, "vnc-wss")
    assert r.status_code == 503 and "vnc-wss is not available" in r.json()["serviceUnavailable"]["message"]
