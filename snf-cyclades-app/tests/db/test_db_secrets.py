"""Stored secrets: a backend hash that reveals nothing, a stretched and rotatable encryption
key, one-line errors, and the start-up refusal while the key is unset or public."""

import base64
import hashlib
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core import checks
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from synnefo.db import secrets
from synnefo.db.models import Backend, Flavor, IdempotencyKey, VirtualMachine
from synnefo.logic import backends as backends_logic
from synnefo.logic.errors import ServiceUnavailable

BIN = os.path.dirname(sys.executable)


def make_backend(name="c1.example.org", password="s3cret", **fields):
    backend = Backend(clustername=name, port=5080, username="cyclades",
                      index=Backend.objects.count(), **fields)
    backend.password = password
    backend.save()
    return backend


def old_hash(clustername, port, user, password):
    return hashlib.sha256(f"{clustername}:{port}:{user}:{password}".encode()).hexdigest()


# --- Backend.hash: a random version stamp ----------------------------------------------------

@pytest.mark.django_db
def test_hash_is_a_random_stamp_not_a_digest_of_the_password():
    a = make_backend("c1.example.org")
    assert a.hash != old_hash("c1.example.org", 5080, "cyclades", "s3cret")
    assert len(a.hash) == 32
    # same credentials elsewhere: another stamp (nothing derived from them)
    Backend.objects.filter(pk=a.pk).delete()
    b = make_backend("c1.example.org")
    assert b.hash != a.hash


@pytest.mark.django_db
def test_hash_changes_with_the_connection_settings_only(settings):
    backend = make_backend()
    stamp = backend.hash
    backend = Backend.objects.get(pk=backend.pk)
    backend.drained = True
    backend.mfree = 10
    backend.save()
    assert backend.hash == stamp
    backend.port = 5081
    backend.save()
    assert backend.hash != stamp
    stamp = backend.hash
    backend = Backend.objects.get(pk=backend.pk)
    backend.password = "other"
    backend.save()
    assert backend.hash != stamp


@pytest.mark.django_db
def test_drain_decrypts_nothing(settings, capsys, monkeypatch):
    """backend-modify --drained with a key that opens no stored secret still works."""
    from django.core.management import load_command_class
    from django.db import connections
    backend = make_backend()
    settings.SECRET_ENCRYPTION_KEY = "another key entirely"
    monkeypatch.setattr(connections, "close_all", lambda: None)
    command = load_command_class("synnefo.logic", "backend-modify")
    command.run_from_argv(["snf-manage", "backend-modify", str(backend.pk), "--drained"])
    out = capsys.readouterr().out
    assert "modified: drained" in out
    assert Backend.objects.get(pk=backend.pk).drained


@pytest.mark.django_db(transaction=True)
def test_migration_replaces_the_old_digests():
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes("db")
    executor.migrate([("db", "0003_virtualmachine_last_reconciled")])
    try:
        backend = make_backend()
        digest = old_hash("c1.example.org", 5080, "cyclades", "s3cret")
        Backend.objects.filter(pk=backend.pk).update(hash=digest)
        flavor = Flavor.objects.create(cpu=1, ram=512, disk=5, disk_template="drbd")
        vm = VirtualMachine.objects.create(name="v", userid="u", backend=backend, backend_hash=digest,
                                           imageid="img", flavor=flavor)
        orphan = VirtualMachine.objects.create(name="o", userid="u", backend=None,
                                               backend_hash=digest, imageid="img", flavor=flavor)
        executor = MigrationExecutor(connection)
        executor.migrate([("db", "0004_backend_hash_random_stamp")])
        stamp = Backend.objects.get(pk=backend.pk).hash
        assert stamp != digest and len(stamp) == 32
        assert VirtualMachine.objects.get(pk=vm.pk).backend_hash == stamp
        assert VirtualMachine.objects.get(pk=orphan.pk).backend_hash == ""
    finally:
        MigrationExecutor(connection).migrate(leaves)


# --- the key: stretched, rotatable, errors in one line -----------------------------------------

def test_key_is_stretched(settings):
    settings.SECRET_ENCRYPTION_KEY = "k1"
    token = secrets.encrypt("pw")[len(secrets.PREFIX):].encode()
    bare = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"k1").digest()))
    with pytest.raises(InvalidToken):
        bare.decrypt(token)   # not the bare SHA-256 of earlier releases
    stretched = hashlib.pbkdf2_hmac("sha256", b"k1", secrets.KDF_SALT, secrets.KDF_ITERATIONS)
    assert Fernet(base64.urlsafe_b64encode(stretched)).decrypt(token) == b"pw"
    assert secrets.KDF_ITERATIONS >= 600_000


def test_threads_asking_at_once_stretch_the_key_once(settings, monkeypatch):
    """The first creates of an API process encrypt from several threads at
    once: one stretching (KDF_ITERATIONS rounds of PBKDF2), not one each."""
    import threading
    settings.SECRET_ENCRYPTION_KEY = "stretched once"
    calls = []
    real = hashlib.pbkdf2_hmac

    def counted(*args):
        calls.append(args[1])
        return real(*args)

    monkeypatch.setattr(secrets.hashlib, "pbkdf2_hmac", counted)
    barrier = threading.Barrier(8)
    tokens = []

    def create():
        barrier.wait()
        tokens.append(secrets.encrypt("pw"))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [b"stretched once"]
    assert [secrets.decrypt(token) for token in tokens] == ["pw"] * 8


def test_rotation_first_encrypts_all_decrypt(settings):
    settings.SECRET_ENCRYPTION_KEY = "old"
    stored = secrets.encrypt("pw")
    settings.SECRET_ENCRYPTION_KEY = ["new", "old"]
    assert secrets.decrypt(stored) == "pw"
    assert not secrets.is_current(stored)
    fresh = secrets.encrypt("pw")
    assert secrets.is_current(fresh)
    settings.SECRET_ENCRYPTION_KEY = "new"
    assert secrets.decrypt(fresh) == "pw"
    with pytest.raises(secrets.SecretError, match="no key of SECRET_ENCRYPTION_KEY opens it"):
        secrets.decrypt(stored)


def test_legacy_tokens_still_decrypt(settings):
    settings.SECRET_ENCRYPTION_KEY = "k1"
    legacy = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"k1").digest()))
    stored = secrets.PREFIX + legacy.encrypt(b"pw").decode()
    assert secrets.decrypt(stored) == "pw" and not secrets.is_current(stored)


@pytest.mark.django_db
def test_secret_reencrypt_command(settings, manage):
    settings.SECRET_ENCRYPTION_KEY = "old"
    a, b = make_backend("a.example.org", "pa"), make_backend("b.example.org", "pb")
    stamp = a.hash
    settings.SECRET_ENCRYPTION_KEY = ["new", "old"]
    result = manage("secret-reencrypt", "--dry-run")
    assert result.code == 0 and "2 secret(s) to re-encrypt" in result.out
    result = manage("secret-reencrypt")
    assert result.code == 0 and "2 secret(s) re-encrypted, 0 already" in result.out
    settings.SECRET_ENCRYPTION_KEY = "new"
    assert Backend.objects.get(pk=a.pk).password == "pa"
    assert Backend.objects.get(pk=b.pk).password == "pb"
    assert Backend.objects.get(pk=a.pk).hash == stamp   # the connection did not change
    assert "0 secret(s) re-encrypted, 2 already" in manage("secret-reencrypt").out


def make_replay(key, secret):
    return IdempotencyKey.objects.create(userid="alice", kind="server", key=key, digest="0" * 64,
                                         object_id=1, secret=secrets.encrypt(secret))


@pytest.mark.django_db
def test_secret_reencrypt_covers_the_admin_passwords_of_idempotency_keys(settings, manage):
    settings.SECRET_ENCRYPTION_KEY = "lost"
    lost = make_replay("k0", "gone")
    settings.SECRET_ENCRYPTION_KEY = "old"
    kept = make_replay("k1", "pw1")
    settings.SECRET_ENCRYPTION_KEY = ["new", "old"]
    result = manage("secret-reencrypt", "--dry-run")
    assert "1 adminPass(es) of idempotency keys that no key decrypts to drop" in result.out
    assert "1 secret(s) to re-encrypt" in result.out and IdempotencyKey.objects.get(pk=lost.pk).secret
    result = manage("secret-reencrypt")
    assert result.code == 0 and "1 secret(s) re-encrypted, 0 already" in result.out
    settings.SECRET_ENCRYPTION_KEY = "new"
    assert secrets.decrypt(IdempotencyKey.objects.get(pk=kept.pk).secret) == "pw1"
    assert IdempotencyKey.objects.get(pk=lost.pk).secret == ""


@pytest.mark.django_db
def test_secret_reencrypt_is_all_or_nothing(settings, manage):
    settings.SECRET_ENCRYPTION_KEY = "lost"
    lost = make_backend("a.example.org", "pa")
    settings.SECRET_ENCRYPTION_KEY = "old"
    make_backend("b.example.org", "pb")
    settings.SECRET_ENCRYPTION_KEY = ["new", "old"]
    before = {x.pk: x.password_encrypted for x in Backend.objects.all()}
    result = manage("secret-reencrypt")
    assert result.code != 0 and len(result.err.strip().splitlines()) == 1
    assert "backend %d" % lost.pk in result.err and "nothing was re-encrypted" in result.err
    assert {x.pk: x.password_encrypted for x in Backend.objects.all()} == before


@pytest.mark.django_db
def test_wrong_key_is_service_unavailable_not_a_traceback(settings):
    backend = make_backend()
    settings.SECRET_ENCRYPTION_KEY = "not the key"
    backends_logic.clear_client_cache()
    with pytest.raises(ServiceUnavailable, match="cannot decrypt the RAPI password of backend"):
        backends_logic.get_rapi_client(Backend.objects.get(pk=backend.pk))


# --- refusing to start -----------------------------------------------------------------------

@pytest.mark.parametrize("key, expected", [
    ("", "is empty"), ("Password Encryption Key", "public default"), (["k", ""], "is empty"),
    ([], "empty list"), (42, "must be a string or a list")])
def test_system_check_refuses_public_or_empty_keys(settings, key, expected):
    settings.TEST = False
    settings.SECRET_ENCRYPTION_KEY = key
    errors = [m for m in checks.run_checks(tags=["synnefo-startup"]) if m.level >= checks.ERROR]
    assert [e.id for e in errors] == ["synnefo.E001"] and expected in errors[0].msg


def test_system_check_accepts_a_real_key(settings):
    settings.TEST = False
    settings.SECRET_ENCRYPTION_KEY = ["a long random key", "an older one"]
    assert not checks.run_checks(tags=["synnefo-startup"])


@pytest.fixture
def unset_key_settings(tmp_path):
    conf = tmp_path / "settings"
    conf.mkdir()
    (conf / "10-db.conf").write_text(
        'DATABASES["default"]["NAME"] = %r\nAMQP_HOSTS = ["filesystem://"]\n'
        'AMQP_FILESYSTEM_DIR = %r\n' % (str(tmp_path / "db.sqlite3"), str(tmp_path / "broker")))
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
    env["SYNNEFO_SETTINGS_DIR"] = str(conf)
    return env


@pytest.mark.parametrize("argv, status", [
    (["snf-manage", "backend-list"], 1),
    (["snf-dispatcher", "--foreground"], 1),
    ([sys.executable, "-c", "import synnefo.webproject.wsgi"], 3),
])
def test_programs_refuse_to_start_in_one_line(unset_key_settings, argv, status):
    if not os.path.isabs(argv[0]):
        argv = [os.path.join(BIN, argv[0])] + argv[1:]
    proc = subprocess.run(argv, env=unset_key_settings, capture_output=True, text=True, timeout=60)
    assert proc.returncode == status
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "refusing to start: SECRET_ENCRYPTION_KEY is empty" in lines[0]
