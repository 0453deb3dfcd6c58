"""The web UI in a real browser: Debian's chromium driven by Playwright against
a whole deployment (the one `make run` starts: simulator, eventd, dispatchers,
gunicorn with the collected static files), the way a person would use it:
by the labels and roles of the page.

Each step writes a screenshot to ``var/ui-screenshots/`` (``SNF_UI_SCREENSHOTS``
to change it). The steps share one page and run in file order.

Chromium is the system's (``apt-get install chromium``; no browser download):
missing, the module is skipped on a developer's machine and fails under CI
(``CI=true``), where ``.ci/run`` installs it.
"""

import json
import os
import pathlib
import re
import shutil

import pytest
from synnefo.tools.loopback import free_port
from synnefo.tools.quickstart import Deployment

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("SNF_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = pathlib.Path(__file__).resolve().parents[2]
SHOTS = pathlib.Path(os.environ.get("SNF_UI_SCREENSHOTS", ROOT / "var" / "ui-screenshots"))
POLL = 1            # UI_POLL_INTERVAL of the deployment, seconds
WAIT = 60_000       # ms: the longest a step waits for the system (a build, a network)
# Budgets of the sign-in page (first visit, nothing cached): requests and bytes on the wire.
PAGE_REQUESTS = 10
PAGE_BYTES = 40_000
# The deployment's second server (the first is web1) fails to build: the simulator refuses its create.
FAILED_BUILD_ID = 2


def _need_chromium():
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return
    why = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(why + ": CI must run the browser tests", pytrace=False)
    pytest.skip(why)


sync_api = pytest.importorskip("playwright.sync_api") if not os.environ.get("CI") else None
if sync_api is None:
    import playwright.sync_api as sync_api  # under CI a missing Playwright is an error, not a skip
expect = sync_api.expect


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    dep = Deployment(tmp_path_factory.mktemp("ui"), api_port=free_port(),
                     sim_args=["--job-duration", "4", "--fail", f"OP_INSTANCE_CREATE:snf-{FAILED_BUILD_ID}"],
                     log=lambda *a: None,
                     extra_conf=f"UI_POLL_INTERVAL = {POLL}\n")
    try:
        dep.start()   # with the bridge and MAC-prefix pools that private networks need
    except Exception:
        dep.stop()
        raise
    yield dep
    dep.stop()


@pytest.fixture(scope="module")
def browser():
    _need_chromium()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Recorder:
    """Console errors and uncaught exceptions of the page, by step."""

    def __init__(self, page):
        self.step = "start"
        self.errors = []
        page.on("console", lambda m: m.type == "error" and self.errors.append((self.step, m.text)))
        page.on("pageerror", lambda e: self.errors.append((self.step, f"uncaught: {e}")))

    def unexpected(self, provoked_steps):
        """Errors except the browser's own log line for an API fault that a step provoked."""
        return [(step, text) for step, text in self.errors
                if not (step in provoked_steps and text.startswith("Failed to load resource: "))]


def new_page(browser, shots):
    """A desktop-sized page in a context of its own, its screenshot folder
    ``shots`` emptied first; the caller closes ``page.context``."""
    if shots.exists():
        shutil.rmtree(shots)
    shots.mkdir(parents=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.shot_count = 0
    return page


@pytest.fixture(scope="module")
def page(browser, deployment):
    page = new_page(browser, SHOTS)
    page.recorder = Recorder(page)
    yield page
    page.context.close()


def shot(page, name, full_page=True):
    page.shot_count += 1
    page.screenshot(path=str(SHOTS / f"{page.shot_count:02d}-{name}.png"), full_page=full_page)


def ui_url(deployment):
    return deployment.info["ui"]


def server_page(page):
    """The open server's page (the list stays in the document, hidden, beside it)."""
    return page.locator("#server-view")


def server_card(page, name):
    return page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=name, exact=True))


# -- the steps ---------------------------------------------------------------------


def test_sign_in_with_a_bad_token_then_the_real_one(page, deployment):
    page.recorder.step = "bad-token"
    page.goto(ui_url(deployment))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "sign-in")
    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text="No user found.")).to_be_visible()
    shot(page, "bad-token")
    page.wait_for_load_state("networkidle")
    page.recorder.step = "sign-in"
    page.get_by_label("API token").fill(deployment.info["token"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Servers", exact=True)).to_be_visible()
    expect(page.get_by_text("You have no servers yet.")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('cyclades.token')") == deployment.info["token"]


def test_create_a_server_and_watch_it_build_to_active(page):
    page.recorder.step = "create"
    page.get_by_role("button", name="New server").click()
    dialog = page.get_by_role("dialog", name="New server")
    expect(dialog.get_by_text(re.compile(r"Limits: 0 of \d+ servers used"))).to_be_visible()
    dialog.get_by_label("Name", exact=True).fill("web1")
    dialog.get_by_label("Image").select_option(index=0)
    dialog.get_by_label("Flavor").select_option(index=0)
    dialog.get_by_role("button", name="Add metadata item").click()
    dialog.get_by_label("Metadata key 1").fill("purpose")
    dialog.get_by_label("Metadata value 1").fill("browser test")
    shot(page, "create-form", full_page=False)
    dialog.get_by_role("button", name="Create server").click()
    expect(page.get_by_role("heading", name="web1", level=1)).to_be_visible()
    expect(server_page(page).get_by_text("Building")).to_be_visible()
    expect(page.get_by_text("Root password:")).to_be_visible()
    # The build reports progress on the way (snf-image's progress through the monitor).
    page.get_by_text(re.compile(r"[1-9]\d?% built")).wait_for(timeout=WAIT)
    shot(page, "building")
    expect(server_page(page).get_by_text("Running", exact=True)).to_be_visible(timeout=WAIT)
    row = page.get_by_role("row").filter(has_text="purpose")
    expect(row).to_contain_text("browser test")
    expect(page.get_by_role("table", name="Addresses of the server")).to_contain_text("10.0.0.")
    shot(page, "active")


def test_a_failed_build_says_why(page):
    page.recorder.step = "failed-build"
    page.get_by_role("link", name="Servers", exact=True).click()
    page.get_by_role("button", name="New server").click()
    dialog = page.get_by_role("dialog", name="New server")
    dialog.get_by_label("Name", exact=True).fill("broken")
    dialog.get_by_role("button", name="Create server").click()
    expect(page.get_by_role("heading", name="broken", level=1)).to_be_visible()
    assert page.url.endswith(f"#/servers/{FAILED_BUILD_ID}")
    expect(server_page(page).get_by_text("Error", exact=True)).to_be_visible(timeout=WAIT)
    # The Ganeti error, in words, without a click.
    diagnostics = page.locator("#server-diagnostics")
    expect(diagnostics).to_contain_text("ERROR", timeout=WAIT)
    shot(page, "failed-build")
    page.get_by_role("button", name="Delete…").click()
    confirm = page.get_by_role("dialog", name="Delete server broken?")
    confirm.get_by_role("button", name="Delete server").click()
    page.get_by_role("link", name="Servers", exact=True).click()
    expect(page.get_by_role("heading", name="broken", exact=True)).to_have_count(0, timeout=WAIT)
    server_card(page, "web1").get_by_role("link", name="web1").click()
    expect(page.get_by_role("heading", name="web1", level=1)).to_be_visible()


def test_reboot_the_server(page):
    page.recorder.step = "reboot"
    page.get_by_role("button", name="Reboot", exact=True).click()
    status = page.locator("#server-view .status-line")
    expect(status.get_by_text(re.compile("rebooting", re.I))).to_be_visible(timeout=WAIT)
    shot(page, "rebooting")
    expect(server_page(page).get_by_text("Running", exact=True)).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Reboot", exact=True)).to_be_enabled(timeout=WAIT)


def test_server_page_shutdown_start_rename_firewall_and_metadata(page):
    page.recorder.step = "server-page"
    page.get_by_role("button", name="Shut down").click()
    expect(server_page(page).get_by_text("Stopped", exact=True)).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Start")).to_be_enabled(timeout=WAIT)
    page.get_by_role("button", name="Start").click()
    expect(server_page(page).get_by_text("Running", exact=True)).to_be_visible(timeout=WAIT)

    page.get_by_label("Server name").fill("web-one")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", name="web-one", level=1)).to_be_visible()
    page.get_by_label("Server name").fill("web1")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", name="web1", level=1)).to_be_visible()

    page.get_by_label("Firewall profile").select_option("PROTECTED")
    page.get_by_role("button", name="Apply firewall profile").click()
    addresses = page.get_by_role("table", name="Addresses of the server")
    expect(addresses).to_contain_text("PROTECTED", timeout=WAIT)

    metadata = page.get_by_role("table", name="Metadata of the server")
    page.get_by_label("Key", exact=True).fill("role")
    page.get_by_label("Value", exact=True).fill("database")
    page.get_by_role("button", name="Save metadata item").click()
    expect(metadata.get_by_role("row").filter(has_text="role")).to_contain_text("database")
    shot(page, "server-page")
    page.get_by_role("button", name="Delete metadata item role").click()
    expect(metadata.get_by_role("row").filter(has_text="role")).to_have_count(0)
    expect(page.get_by_role("button", name="Console")).to_be_enabled(timeout=WAIT)


def test_open_the_console_and_see_the_vms_screen(page, deployment):
    page.recorder.step = "console"
    page.get_by_role("button", name="Console").click()
    expect(page.get_by_text("Connected to the console of web1")).to_be_visible(timeout=30_000)
    canvas = page.locator("#console-screen canvas")
    expect(canvas).to_be_visible()
    # The simulator's VM draws its name and state: more than one colour on the screen.
    page.wait_for_function("""() => {
        const c = document.querySelector('#console-screen canvas');
        if (!c || !c.width) return false;
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < data.length; i += 4 * 7) seen.add(data[i] << 16 | data[i + 1] << 8 | data[i + 2]);
        return seen.size > 1;
    }""", timeout=30_000)
    page.locator("#console-panel").scroll_into_view_if_needed()
    shot(page, "console", full_page=False)
    page.get_by_role("button", name="Close console").click()
    expect(canvas).to_have_count(0)


def test_a_bad_input_shows_the_apis_fault_next_to_the_form(page):
    page.recorder.step = "bad-input"
    page.get_by_role("link", name="Networks", exact=True).click()
    expect(page.get_by_role("heading", name="Networks", exact=True)).to_be_visible()
    page.get_by_role("button", name="Create network").click()      # no name: the page asks for one
    expect(page.locator("#network-create-form").get_by_role("alert")).to_have_text("Give the network a name.")
    expect(page.get_by_label("Network name")).to_be_focused()
    page.get_by_label("Network name").fill("too-big")
    page.get_by_label("Subnet (CIDR)").fill("10.0.0.0/8")
    page.get_by_role("button", name="Create network").click()
    error = page.locator("#network-create-form").get_by_role("alert")
    expect(error).to_have_text("Unsupported network size. (overLimit, HTTP 413)")
    shot(page, "bad-input")
    page.get_by_label("Subnet (CIDR)").fill("192.168.1.0/24")


def test_create_a_network_and_connect_the_server(page, deployment):
    page.recorder.step = "network"
    page.get_by_label("Network name").fill("lan")
    page.get_by_role("button", name="Create network").click()
    expect(page.locator("#network-create-form").get_by_role("alert")).to_be_hidden()
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="lan", exact=True))
    expect(card.get_by_text("ACTIVE", exact=True)).to_be_visible(timeout=WAIT)
    card.get_by_label("New name for lan").fill("backnet")
    card.get_by_role("button", name="Rename").click()
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="backnet", exact=True))
    expect(card).to_be_visible()
    card.get_by_label("New name for backnet").fill("lan")
    card.get_by_role("button", name="Rename").click()
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="lan", exact=True))
    expect(card).to_be_visible()
    card.get_by_label("Server to connect to lan").select_option(label="web1")
    card.get_by_role("button", name="Connect").click()
    expect(card.get_by_role("list", name="Servers on lan")).to_contain_text("web1 (192.168.1.", timeout=WAIT)
    shot(page, "network-connected")
    page.get_by_role("link", name="Servers", exact=True).click()
    server_card(page, "web1").get_by_role("link", name="web1").click()
    expect(page.get_by_role("table", name="Addresses of the server")).to_contain_text("lan")


def test_a_lost_connection_is_shown_and_retried(page):
    page.recorder.step = "offline"
    page.route("**/api/**", lambda route: route.abort("connectionrefused"))
    banner = page.get_by_role("alert").filter(has_text="Connection to the API lost")
    expect(banner).to_be_visible(timeout=10_000)
    shot(page, "connection-lost", full_page=False)
    page.unroute("**/api/**")
    page.get_by_role("button", name="Retry now").click()
    expect(banner).to_be_hidden(timeout=10_000)


def delete_network_in_page(page, name):
    page.get_by_role("link", name="Networks", exact=True).click()
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=name, exact=True))
    card.get_by_role("button", name=f"Disconnect web1 from {name}").click()
    expect(card.get_by_text("No server of yours is connected.")).to_be_visible(timeout=WAIT)
    card.get_by_role("button", name=f"Delete network {name}").click()
    confirm = page.get_by_role("dialog", name=f"Delete network {name}?")
    expect(confirm).to_be_visible()
    shot(page, "confirm-delete-network", full_page=False)
    confirm.get_by_role("button", name="Delete network").click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_have_count(0, timeout=WAIT)


def delete_server_in_page(page, name):
    page.get_by_role("link", name="Servers", exact=True).click()
    server_card(page, name).get_by_role("link", name=name).click()
    page.get_by_role("button", name="Delete…").click()
    confirm = page.get_by_role("dialog", name=f"Delete server {name}?")
    expect(confirm).to_be_visible()
    shot(page, "confirm-delete-server", full_page=False)
    confirm.get_by_role("button", name="Delete server").click()
    expect(server_page(page).get_by_text("(being deleted)")).to_be_visible(timeout=WAIT)
    page.get_by_role("link", name="Servers", exact=True).click()
    expect(page.get_by_text("You have no servers yet.")).to_be_visible(timeout=WAIT)
    shot(page, "deleted")


def test_disconnect_and_delete_the_network_and_the_server(page, deployment):
    page.recorder.step = "delete"
    delete_network_in_page(page, "lan")
    delete_server_in_page(page, "web1")


def test_phone_width(page):
    page.recorder.step = "phone"
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Servers", exact=True).click()
    page.get_by_role("button", name="New server").click()
    dialog = page.get_by_role("dialog", name="New server")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Add metadata item").click()
    shot(page, "phone-create", full_page=False)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    dialog.get_by_role("button", name="Cancel").click()
    page.get_by_role("link", name="Networks", exact=True).click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-networks")
    page.set_viewport_size({"width": 1280, "height": 800})


def test_keyboard_only_sign_in_and_navigation(browser, deployment):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(ui_url(deployment))
        expect(page.get_by_label("API token")).to_be_focused()
        page.keyboard.type(deployment.info["token"])
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Servers", exact=True)).to_be_visible()
        for _ in range(10):      # Tab until the Networks link, then follow it with Enter
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent") == "Networks":
                break
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Networks", exact=True)).to_be_focused()
    finally:
        context.close()


def test_page_weight_and_idle_polling(browser, deployment):
    """The sign-in page's weight and requests (first visit), and what an idle
    page costs: one request per poll interval, answered 304."""
    context = browser.new_context()
    page = context.new_page()
    loaded = []
    page.on("requestfinished", lambda r: loaded.append(r))
    try:
        page.goto(ui_url(deployment))
        page.wait_for_load_state("networkidle")
        bytes_in = sum(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"] for r in loaded)
        first = {"requests": len(loaded), "bytes": bytes_in,
                 "files": sorted(r.url.split("/", 3)[3] for r in loaded)}
        page.get_by_label("API token").fill(deployment.info["token"])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Servers", exact=True)).to_be_visible()
        page.wait_for_load_state("networkidle")
        signed_in = len(loaded)
        page.wait_for_timeout(5 * POLL * 1000 + 300)
        # the polls only: a static file the page fetches late (its icon) is no poll
        idle = [r for r in loaded[signed_in:] if "/api/" in r.url]
        page.get_by_role("link", name="Networks", exact=True).click()
        expect(page.get_by_role("heading", name="Networks", exact=True)).to_be_visible()
        page.wait_for_load_state("networkidle")
        on_networks = len(loaded)
        page.wait_for_timeout(4 * POLL * 1000 + 300)
        idle_networks = [r for r in loaded[on_networks:] if "/api/" in r.url]
        figures = {"sign_in_page": first, "sign_in_requests": signed_in - first["requests"],
                   "idle_requests_in_5_intervals": len(idle),
                   "idle_statuses": sorted({r.response().status for r in idle}),
                   "idle_networks_view_requests_in_4_intervals": len(idle_networks),
                   "idle_networks_view_statuses": sorted({r.response().status for r in idle_networks})}
        (SHOTS / "page-weight.json").write_text(json.dumps(figures, indent=1))
        print(json.dumps(figures))
    finally:
        context.close()
    assert first["requests"] <= PAGE_REQUESTS, figures
    assert first["bytes"] <= PAGE_BYTES, figures
    assert 3 <= len(idle) <= 6, figures
    assert all("servers/detail?changes-since=" in r.url for r in idle), [r.url for r in idle]
    assert figures["idle_statuses"] == [304], figures
    assert 2 <= len(idle_networks) <= 5, figures
    assert figures["idle_networks_view_statuses"] == [304], figures
    assert any("networks/detail?changes-since=" in r.url for r in idle_networks), figures


def test_signed_out_when_the_token_is_revoked(page, deployment):
    page.recorder.step = "revoked"
    page.get_by_role("link", name="Servers", exact=True).click()
    deployment.manage("user-modify", "demo@example.org", "--renew-token")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=10_000)
    expect(page.get_by_role("alert").filter(has_text="no longer accepts your token")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('cyclades.token')") is None
    shot(page, "signed-out")


def test_no_console_errors(page):
    # Allowed: Chromium's own line for each API fault or refused connection that a step provoked.
    assert page.recorder.unexpected({"bad-token", "bad-input", "offline", "revoked", "console"}) == []
