"""snf-manage as a process, the way snf-quickstart drives it: migrate, fixtures, a user and its token."""

import json
import os
import subprocess
import sys

SNF_MANAGE = os.path.join(os.path.dirname(sys.executable), "snf-manage")


def snf_manage(settings_dir, *args):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["SYNNEFO_SETTINGS_DIR"] = str(settings_dir)
    return subprocess.run([SNF_MANAGE, *args], env=env, capture_output=True, text=True, timeout=120)


def test_migrate_load_fixtures_add_user_and_read_the_token(tmp_path):
    settings_dir = tmp_path / "settings"
    settings_dir.mkdir()
    (settings_dir / "00-test.conf").write_text(
        "DATABASES['default']['NAME'] = %r\nAMQP_FILESYSTEM_DIR = %r\nSECRET_KEY = 'test'\n"
        "SECRET_ENCRYPTION_KEY = 'tests-only key'\n"
        % (str(tmp_path / "db.sqlite3"), str(tmp_path / "broker")))
    early = snf_manage(settings_dir, "user-list")
    assert early.returncode == 1 and early.stdout == ""
    assert len(early.stderr.splitlines()) == 1 and early.stderr.startswith("Error: database: ")
    assert "no such table" in early.stderr and "run snf-manage migrate" in early.stderr
    # --skip-checks: this is about the database commands, not the URL configuration
    migrated = snf_manage(settings_dir, "migrate", "--noinput", "-v0", "--skip-checks")
    assert migrated.returncode == 0, migrated.stderr
    loaded = snf_manage(settings_dir, "loaddata", "flavors", "images", "--skip-checks")
    assert loaded.returncode == 0, loaded.stderr

    added = snf_manage(settings_dir, "user-add", "--uniq", "demo@example.org", "--max-vms", "1000",
                       "--token-lifetime", "0")
    assert added.returncode == 0 and added.stderr == "", added
    tokens = [line.split(": ", 1)[1] for line in added.stdout.splitlines() if line.startswith("token: ")]
    assert len(tokens) == 1 and len(tokens[0]) >= 40
    # quickstart's parser: the first line holding 'token' and ':' carries the token
    first = next(line for line in added.stdout.splitlines() if "token" in line.lower() and ":" in line)
    assert first.split(":", 1)[1].strip() == tokens[0]

    users = json.loads(snf_manage(settings_dir, "user-list", "--output", "json").stdout)
    assert [(u["uniq"], u["vm_limit"]) for u in users] == [("demo@example.org", 1000)]
    images = json.loads(snf_manage(settings_dir, "image-list", "-o", "json").stdout)
    assert "debian-12" in [i["id"] for i in images]
    flavors = json.loads(snf_manage(settings_dir, "flavor-list", "-o", "json").stdout)
    assert flavors[0]["id"] == 1

    again = snf_manage(settings_dir, "user-add", "--uniq", "demo@example.org")
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr == "Error: User 'demo@example.org' already exists\n"
    usage = snf_manage(settings_dir, "user-add", "--max-vms", "3")
    assert usage.returncode == 2
    assert usage.stderr.startswith("Error: the following arguments are required: --uniq")
    assert len(usage.stderr.splitlines()) == 1

    renewed = snf_manage(settings_dir, "user-modify", "demo@example.org", "--renew-token")
    assert renewed.returncode == 0, renewed.stderr
    assert renewed.stdout.splitlines()[0].startswith("token: ")
    assert renewed.stdout.splitlines()[0] != "token: " + tokens[0]
