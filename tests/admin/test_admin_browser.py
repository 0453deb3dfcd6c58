"""The admin web in a real browser: Debian's chromium driven by Playwright
against a whole deployment (simulator, eventd, dispatchers, gunicorn), used by
the labels of the page: a non-staff user is refused, a staff user drains a
backend, finds a server by its IP and shuts it down, finds a server whose
build failed and reads why, visits a user, the pools, the dead letters and
the stored reconciliation findings, and reads the audit log.

The browser set-up (chromium path and flags, skip-or-fail when chromium is
missing, the ``browser`` fixture) is the web UI's, imported from
``tests/ui/test_ui_browser.py``. Screenshots go to ``var/admin-screenshots/``
(``SNF_ADMIN_SCREENSHOTS`` to change it). The steps share one page and run in
file order.
"""

import os
import pathlib
import re
import sys
import time

import pytest
import requests
from synnefo.tools.loopback import free_port
from synnefo.tools.quickstart import DEMO_USER, Deployment

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "ui"))
from test_ui_browser import browser, expect, new_page  # noqa: E402,F401  (the shared browser fixture)

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHOTS = pathlib.Path(os.environ.get("SNF_ADMIN_SCREENSHOTS", ROOT / "var" / "admin-screenshots"))
WAIT = 60  # seconds the system may take (a build, a shutdown)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    dep = Deployment(tmp_path_factory.mktemp("admin"), api_port=free_port(),
                     sim_args=["--job-duration", "1", "--fail", "OP_INSTANCE_CREATE:snf-2"],
                     log=lambda *a: None)
    try:
        dep.start()
        dep.manage("user-modify", DEMO_USER, "--staff")
        if not dep._manage_json("pool-list"):  # a MAC-prefix pool for the networks page
            dep.manage("pool-create", "--type", "mac-prefix", "--base", "aa:00:0", "--size", "65536")
        out = dep.manage("user-add", "--uniq", "eve@example.org", "--name", "Eve")
        dep.info["eve_token"] = dep._token_from(out.stdout)
        dep.info["server"] = _server(dep, "helpdesk-case", "ACTIVE")  # snf-1
        dep.info["broken"] = _server(dep, "broken-build", "ERROR")  # snf-2: its create job fails
    except Exception:
        dep.stop()
        raise
    yield dep
    dep.stop()


def _server(dep, name, status):
    """A new server of the demo user once it is in ``status``: its id and IPv4 address."""
    api, headers = dep.info["api"], {"X-Auth-Token": dep.info["token"]}
    body = {"server": {"name": name, "imageRef": "debian-12", "flavorRef": 1}}
    created = requests.post(api + "servers", json=body, headers=headers, timeout=30)
    created.raise_for_status()
    server_id = created.json()["server"]["id"]
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        server = requests.get(api + "servers/%d" % server_id, headers=headers, timeout=30).json()["server"]
        if server["status"] == status:
            ips = [nic["ipv4"] for nic in server.get("attachments", {}).get("values", []) if nic["ipv4"]]
            return {"id": server_id, "ip": ips[0] if ips else None}
        time.sleep(0.5)
    raise AssertionError("server %d not %s after %d s" % (server_id, status, WAIT))


@pytest.fixture(scope="module")
def page(browser, deployment):  # noqa: F811
    page = new_page(browser, SHOTS)
    yield page
    page.context.close()


def shot(page, name):
    page.shot_count += 1
    page.screenshot(path=str(SHOTS / f"{page.shot_count:02d}-{name}.png"), full_page=True)


def admin_url(deployment, path=""):
    return "http://127.0.0.1:%d/admin/%s" % (deployment.api_port, path)


def sign_in(page, deployment, token):
    page.goto(admin_url(deployment))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_a_non_staff_user_is_refused(page, deployment):
    sign_in(page, deployment, deployment.info["eve_token"])
    expect(page.get_by_role("alert")).to_have_text(re.compile("Sign-in refused"))
    expect(page.get_by_role("navigation", name="Admin sections")).to_have_count(0)
    shot(page, "non-staff-refused")
    page.goto(admin_url(deployment, "servers/?q=helpdesk"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("helpdesk-case")).to_have_count(0)


def test_staff_sign_in_shows_the_backends(page, deployment):
    sign_in(page, deployment, deployment.info["token"])
    expect(page.get_by_role("heading", name="Backends", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"^reachable: Ganeti"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^Memory used: "))).to_be_visible()
    shot(page, "backends")


def test_drain_a_backend(page, deployment):
    drain = page.get_by_role("button", name=re.compile(r"^Drain "))
    cluster = drain.inner_text().split(" ", 1)[1]
    page.get_by_label("Reason to drain " + cluster).fill("disk swap on node1")
    drain.click()
    expect(page.get_by_role("status")).to_contain_text("backend-drain on backend")
    expect(page.get_by_role("status")).to_contain_text(": done")
    expect(page.get_by_role("button", name="Undrain " + cluster)).to_be_visible()
    shot(page, "backend-drained")
    backends = deployment._manage_json("backend-list")
    assert [b["drained"] for b in backends] in ([True], ["True"], ["yes"])


def test_find_a_server_by_ip(page, deployment):
    server = deployment.info["server"]
    assert server["ip"], "the demo server got no IPv4 address"
    page.get_by_role("link", name="Servers").click()
    page.get_by_label("Id, name, user, IP or MAC").fill(server["ip"])
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("cell", name=server["ip"], exact=False)).to_be_visible()
    shot(page, "search-by-ip")
    page.get_by_role("link", name="helpdesk-case").click()
    expect(page.get_by_role("heading", name=re.compile("helpdesk-case"))).to_be_visible()
    expect(page.get_by_role("table", name=re.compile("Network interfaces"))).to_contain_text(server["ip"])


def test_shut_down_the_server_with_a_reason(page, deployment):
    server = deployment.info["server"]
    page.get_by_label("Reason to shut down").fill("customer asked by phone, ticket 42")
    page.get_by_role("button", name="Shut down").click()
    expect(page.get_by_role("status")).to_have_text("server-shutdown on server %d: done" % server["id"])
    deadline = time.monotonic() + WAIT
    while "STOPPED" not in page.locator("dl.facts").inner_text():
        assert time.monotonic() < deadline, "server not STOPPED in time"
        time.sleep(1)
        page.reload()
    expect(page.get_by_role("table", name="Audit log of this server")).to_contain_text("ticket 42")
    shot(page, "server-shut-down")


def test_see_why_a_build_failed(page, deployment):
    page.get_by_role("link", name="Servers").click()
    page.get_by_label("Id, name, user, IP or MAC").fill(DEMO_USER)
    page.get_by_label("State").select_option("ERROR")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="broken-build").click()
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("ERROR")
    expect(facts).to_contain_text("OP_INSTANCE_CREATE error")
    expect(page.get_by_role("heading", name="Last job message")).to_be_visible()
    shot(page, "failed-build")


def test_users_networks_and_the_update_path(page, deployment):
    page.get_by_role("link", name="Users").click()
    page.get_by_label("User, name or e-mail").fill("eve")
    page.get_by_role("button", name="Search users").click()
    page.get_by_role("link", name="eve@example.org").click()
    expect(page.get_by_role("img", name=re.compile(r"^Live servers of the limit: 0 of \d+ "))).to_be_visible()
    expect(page.get_by_role("button", name="Suspend user")).to_be_visible()
    shot(page, "user")
    page.get_by_role("link", name="Networks and pools").click()
    expect(page.get_by_role("img", name=re.compile(r"^IPv4 addresses in use: [12] of "))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^MAC-prefix pool in use: "))).to_be_visible()
    shot(page, "networks")
    deployment.manage("reconcile-servers", "--all", check=False)  # its run is stored
    page.get_by_role("link", name="Update path").click()
    expect(page.get_by_role("heading", name=re.compile(r"snf-.*-dl: 0 message"))).not_to_have_count(0)
    expect(page.get_by_role("heading", name="Reconciliation findings")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^reconcile-servers --all: exit status [0-2]$"))
           ).to_be_visible()
    findings = page.get_by_role("table", name=re.compile(r"^Findings of reconcile-servers started "))
    expect(findings.get_by_role("columnheader", name="Result")).to_be_visible()
    expect(findings.get_by_role("row")).not_to_have_count(1)  # a finding, or "Everything in sync."
    shot(page, "update-path")


def test_the_audit_log_and_the_phone_width(page, deployment):
    page.get_by_role("link", name="Audit log").click()
    table = page.get_by_role("table")
    expect(table).to_contain_text("server-shutdown")
    expect(table).to_contain_text("backend-drain")
    expect(table).to_contain_text(DEMO_USER)
    shot(page, "audit-log")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Servers").click()
    page.get_by_label("Id, name, user, IP or MAC").fill("helpdesk")
    page.keyboard.press("Enter")  # the form works from the keyboard alone
    expect(page.get_by_role("link", name="helpdesk-case")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, "the page scrolls sideways at phone width (%d px)" % width
    shot(page, "phone-servers")
    out = deployment.manage("audit-list").stdout
    assert "server-shutdown" in out and "ticket 42" in out
