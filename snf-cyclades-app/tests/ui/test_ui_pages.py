"""The web UI's pages and static files (synnefo.ui), without a browser: what
the API server sends, that the page's parts exist and are collected, and
that the UI reaches nothing but the public API."""

import ast
import json
import pathlib
import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client, override_settings

UI = pathlib.Path(__file__).resolve().parents[2] / "synnefo" / "ui"
STATIC = UI / "static" / "ui"
NOVNC = STATIC / "vendor" / "novnc-rfb.js"


def test_root_links_to_the_ui_and_the_api():
    response = Client().get("/")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'href="/ui/"' in text
    assert f'href="{settings.UI_API_URL}openapi.json"' in text


@pytest.mark.parametrize("path", ["/ui/", "/ui"])
def test_ui_page_carries_its_config_and_a_strict_policy(path):
    response = Client().get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "connect-src 'self' ws: wss:" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    text = response.content.decode()
    config = json.loads(re.search(r'<script id="ui-config" type="application/json">(.*?)</script>',
                                  text, re.S).group(1))
    assert config == {"api": settings.UI_API_URL, "pollInterval": settings.UI_POLL_INTERVAL}
    assert '<label for="signin-token">API token</label>' in text


@override_settings(UI_API_URL="https://api.example.org/api/v1.1/", UI_POLL_INTERVAL=2)
def test_ui_config_follows_the_settings():
    text = Client().get("/ui/").content.decode()
    assert '"api": "https://api.example.org/api/v1.1/"' in text and '"pollInterval": 2' in text


def test_ui_pages_only_answer_get_and_head():
    assert Client().post("/ui/").status_code == 405
    assert Client().head("/ui/").status_code == 200


def test_every_static_file_the_pages_name_exists():
    text = Client().get("/ui/").content.decode() + Client().get("/").content.decode()
    names = set(re.findall(r'(?:href|src)="/static/([^"]+)"', text))
    assert {"ui/app.css", "ui/js/app.js", "ui/js/api.js"} <= names
    for name in names:
        assert finders.find(name), name


def test_every_module_the_scripts_import_exists():
    for script in (STATIC / "js").glob("*.js"):
        for target in re.findall(r'from "(\.[^"]+)"|import\("(\.[^"]+)"\)', script.read_text()):
            path = (script.parent / (target[0] or target[1])).resolve()
            assert path.exists(), f"{script.name} imports {path}"


def test_every_element_the_scripts_look_up_is_in_the_page():
    page = (UI / "templates" / "ui" / "index.html").read_text()
    ids = set(re.findall(r'id="([\w-]+)"', page)) | {"ui-config"}   # the json_script of the config
    for script in (STATIC / "js").glob("*.js"):
        for wanted in re.findall(r'\$\("([\w-]+)"\)', script.read_text()):
            assert wanted in ids, f"{script.name} looks up #{wanted}, not in index.html"


def test_novnc_is_vendored_by_make():
    assert NOVNC.exists(), "run `make ui-assets` (noVNC from npm, pinned in package-lock.json)"
    assert "export{" in NOVNC.read_text()[-400:].replace(" ", "")
    lock = json.loads((UI.parents[2] / "package-lock.json").read_text())
    novnc = lock["packages"]["node_modules/@novnc/novnc"]
    assert novnc["integrity"].startswith("sha512-")
    manifest = json.loads((UI.parents[2] / "package.json").read_text())
    assert manifest["dependencies"]["@novnc/novnc"] == novnc["version"]   # pinned, not a range


def test_the_ui_is_a_client_of_the_api_only():
    """No module of synnefo.ui imports the database, the logic or the API's code."""
    for module in UI.rglob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("synnefo.db", "synnefo.logic", "synnefo.api", "django.db")), (
                    f"{module.name} imports {name}")


def test_collectstatic_then_served_compressed(tmp_path):
    root = tmp_path / "static"
    with override_settings(STATIC_ROOT=str(root)):
        call_command("collectstatic", "--noinput", verbosity=0)
        for name in ("ui/app.css", "ui/js/app.js", "ui/js/console.js", "ui/vendor/novnc-rfb.js"):
            assert (root / name).exists(), name
            assert (root / (name + ".gz")).exists(), name
        client = Client()   # a new client: WhiteNoise indexes STATIC_ROOT when it starts
        plain = client.get("/static/ui/js/app.js")
        assert plain.status_code == 200
        assert plain["Content-Type"].startswith("text/javascript")
        packed = client.get("/static/ui/js/app.js", HTTP_ACCEPT_ENCODING="gzip")
        assert packed["Content-Encoding"] == "gzip"
        assert int(packed["Content-Length"]) < int(plain["Content-Length"])
        # a file that is not there is an unknown URL: the API's fault (a token
        # first, then 400 "Not found."), never Django's HTML page
        missing = client.get("/static/ui/nothing.js")
        assert missing.status_code == 401 and missing["Content-Type"].startswith("application/json")
