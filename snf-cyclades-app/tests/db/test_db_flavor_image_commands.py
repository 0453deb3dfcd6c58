"""snf-manage flavor-create, flavor-list, flavor-modify, image-register, image-list, image-show."""

import json

import pytest
from synnefo.db.models import Flavor, Image, User, VirtualMachine

# --- flavor-create ----------------------------------------------------------------


def flavor_tuples():
    return sorted(Flavor.objects.values_list("cpu", "ram", "disk", "disk_template"))


def test_flavor_create_cartesian_product_with_options(manage):
    result = manage("flavor-create", "--cpu", "1", "2", "--ram", "512", "1024", "--disk", "20",
                    "--disk-template", "plain", "file", "-o", "json")
    assert result.code in (0, None), result
    assert len(json.loads(result.out)) == 8
    assert flavor_tuples() == sorted((c, r, 20, t) for c in (1, 2) for r in (512, 1024)
                                     for t in ("plain", "file"))


def test_flavor_create_positional_comma_lists_and_default_template(manage, settings):
    settings.DEFAULT_GANETI_DISK_TEMPLATE = "file"
    manage("flavor-create", "1,2", "512", "10,20", "plain")
    manage("flavor-create", "--cpu", "4", "--ram", "4096", "--disk", "40")
    manage("flavor-create", "--cpu", "1", "--ram", "512", "--disk", "10", "--disk-template", "ext_vlmc")
    assert flavor_tuples() == [(1, 512, 10, "ext_vlmc"), (1, 512, 10, "plain"), (1, 512, 20, "plain"),
                               (2, 512, 10, "plain"), (2, 512, 20, "plain"), (4, 4096, 40, "file")]


def test_flavor_create_repeated_values_create_one_flavor(manage):
    manage("flavor-create", "--cpu", "1", "1,1", "--ram", "512", "--disk", "10")
    assert Flavor.objects.count() == 1


@pytest.mark.parametrize("argv, match", [
    (["--cpu", "0", "--ram", "512", "--disk", "10"], "--cpu must be a positive integer"),
    (["--cpu", "1", "--ram", "-512", "--disk", "10"], "--ram"),
    (["--cpu", "1", "--ram", "512", "--disk", "ten"], "--disk must be an integer"),
    (["--cpu", "1", "--ram", "512"], "--disk is required"),
    (["--cpu", "1", "--ram", "512", "--disk", "10", "--disk-template", "floppy"], "Unknown disk template"),
    (["--cpu", "1", "--ram", "512", "--disk", "10", "--disk-template", "ext_"], "Unknown disk template"),
    (["--cpu", "1,", "--ram", "512", "--disk", "10"], "empty value"),
    (["1", "512", "10"], "Expected 4 positional arguments"),
    (["1", "512", "10", "plain", "--cpu", "2"], "not both"),
    (["1", "512", "10", "plain", "file"], "Expected 4"),
    ([], "--cpu is required"),
    (["--cpu", "1", "2", "--ram", "512", "--disk", "10", "--disk-template", "plain", "bad"], "bad"),
])
def test_flavor_create_bad_arguments(manage_fails, argv, match):
    manage_fails("flavor-create", *argv, match=match)


def test_flavor_create_existing_combination_creates_nothing(manage, manage_fails):
    manage("flavor-create", "1", "1024", "20", "plain")
    line = manage_fails("flavor-create", "--cpu", "1", "2", "--ram", "1024", "--disk", "20",
                        "--disk-template", "plain", match="already exists")
    assert "C1R1024D20" in line
    assert Flavor.objects.count() == 1


def test_flavor_create_template_must_be_an_enabled_one(manage_fails, settings):
    settings.GANETI_DISK_TEMPLATES = ["plain"]
    manage_fails("flavor-create", "1", "512", "10", "drbd", match="use one of plain")
    manage_fails("flavor-create", "1", "512", "10", "ext_vlmc", match="Unknown disk template")


# --- flavor-list / flavor-modify ----------------------------------------------------

@pytest.fixture
def flavors(db):
    small = Flavor.objects.create(cpu=1, ram=512, disk=10, disk_template="plain")
    big = Flavor.objects.create(cpu=4, ram=8192, disk=80, disk_template="plain")
    gone = Flavor.objects.create(cpu=2, ram=2048, disk=20, disk_template="file", deleted=True)
    VirtualMachine.objects.create(name="a", userid="alice", imageid="img", flavor=small)
    VirtualMachine.objects.create(name="b", userid="alice", imageid="img", flavor=small,
                                  deleted=True, operstate="DESTROYED")
    return small, big, gone


def test_flavor_list_hides_deleted_unless_asked(manage, flavors):
    small, big, gone = flavors
    data = json.loads(manage("flavor-list", "-o", "json").out)
    assert [(f["id"], f["name"], f["servers"]) for f in data] == [(small.id, "C1R512D10", 1),
                                                                   (big.id, "C4R8192D80", 0)]
    assert [f["id"] for f in json.loads(manage("flavor-list", "--deleted", "-o", "json").out)] == \
        [small.id, big.id, gone.id]
    table = manage("flavor-list").out.splitlines()
    assert table[0].split() == ["id", "name", "cpu", "ram", "disk", "disk_template", "deleted", "servers"]
    assert len(table) == 4
    assert manage("flavor-list", "-c").out.splitlines()[0] == "%d|C1R512D10|1|512|10|plain|no|1" % small.id
    assert manage("flavor-list", "-o", "csv").out.splitlines()[0].startswith("id,name,cpu")


def test_flavor_modify_deleted_yes_and_no(manage, flavors):
    small, _, gone = flavors
    assert manage("flavor-modify", str(small.id), "--deleted", "yes").code in (0, None)
    assert Flavor.objects.get(pk=small.id).deleted
    manage("flavor-modify", str(gone.id), "--deleted", "no")
    assert not Flavor.objects.get(pk=gone.id).deleted


@pytest.mark.parametrize("argv, match", [
    (["999", "--deleted", "yes"], "not found"),
    (["abc", "--deleted", "yes"], "not found"),
    (["FLAVOR"], "Nothing to change"),
    (["FLAVOR", "--deleted", "maybe"], "invalid choice"),
    ([], "flavor_id"),
])
def test_flavor_modify_bad_arguments(manage_fails, flavors, argv, match):
    argv = [str(flavors[0].id) if a == "FLAVOR" else a for a in argv]
    manage_fails("flavor-modify", *argv, match=match)


# --- image-register -----------------------------------------------------------------

REGISTER = ["image-register", "--id", "debian-12", "--name", "Debian 12",
            "--location", "pithos://system/images/debian-12.diskdump"]


def test_image_register_public_with_properties(manage):
    result = manage(*REGISTER, "--public", "--property", "OS=debian", "--property", "osfamily=linux",
                    "--size", "3000000000", "--checksum", "abc", "-o", "json")
    assert result.code in (0, None), result
    image = Image.objects.get()
    assert (image.id, image.name, image.owner, image.public, image.disk_format,
            image.container_format, image.size, image.checksum) == \
        ("debian-12", "Debian 12", None, True, "diskdump", "bare", 3000000000, "abc")
    assert image.properties == {"OS": "debian", "osfamily": "linux"}
    assert json.loads(result.out)["property OS"] == "debian"


def test_image_register_owned_by_user(manage, db):
    User.objects.create(uniq="alice")
    manage(*REGISTER, "--owner", "alice", "--disk-format", "extdump", "--container-format", "ovf",
           "--property", "EMPTY=")
    image = Image.objects.get()
    assert (image.owner, image.public, image.disk_format, image.container_format, image.properties) == \
        ("alice", False, "extdump", "ovf", {"EMPTY": ""})


@pytest.mark.parametrize("argv, match", [
    (["--public", "--id", "bad id"], "--id must be"),
    (["--public", "--id", "x" * 65], "--id must be"),
    (["--public", "--name", ""], "--name must not be empty"),
    (["--public", "--location", " "], "--location must not be empty"),
    (["--public", "--disk-format", "qcow2"], "invalid choice"),
    (["--public", "--container-format", "zip"], "invalid choice"),
    (["--owner", "nobody"], "not found"),
    ([], "--owner, or --public"),
    (["--public", "--property", "novalue"], "KEY=VALUE"),
    (["--public", "--property", "bad key=1"], "KEY=VALUE"),
    (["--public", "--property", "OS=a", "--property", "OS=b"], "given twice"),
    (["--public", "--size", "-1"], "--size"),
    (["--public", "--size", "big"], "--size"),
])
def test_image_register_bad_arguments(manage_fails, db, argv, match):
    manage_fails(*REGISTER, *argv, match=match)


def test_image_register_missing_required_option(manage_fails, db):
    manage_fails("image-register", "--id", "x", "--name", "X", "--public", match="--location")


def test_image_register_existing_id(manage, manage_fails):
    manage(*REGISTER, "--public")
    manage_fails(*REGISTER, "--public", "--name", "Other", match="already exists")
    assert Image.objects.get().name == "Debian 12"


# --- image-list / image-show ----------------------------------------------------------

@pytest.fixture
def images(db):
    User.objects.create(uniq="alice")
    User.objects.create(uniq="bob")
    Image.objects.create(id="debian-12", name="Debian", location="pithos://s/d", public=True)
    Image.objects.create(id="alice-img", name="Mine", location="pithos://a/m", owner="alice")
    Image.objects.create(id="bob-img", name="Bob's", location="pithos://b/m", owner="bob")
    from django.utils import timezone
    Image.objects.create(id="old", name="Old", location="pithos://s/o", public=True,
                         status="deleted", deleted=timezone.now())


def ids(result):
    return [row["id"] for row in json.loads(result.out)]


def test_image_list_filters(manage, images):
    assert ids(manage("image-list", "-o", "json")) == ["alice-img", "bob-img", "debian-12"]
    assert ids(manage("image-list", "--deleted", "-o", "json")) == \
        ["alice-img", "bob-img", "debian-12", "old"]
    assert ids(manage("image-list", "--user-id", "alice", "-o", "json")) == ["alice-img", "debian-12"]
    assert ids(manage("image-list", "--public", "-o", "json")) == ["debian-12"]
    table = manage("image-list").out.splitlines()
    assert table[0].split()[:3] == ["id", "name", "owner"] and len(table) == 5


def test_image_list_unknown_user(manage_fails, images):
    manage_fails("image-list", "--user-id", "nobody", match="not found")


def test_image_show(manage, manage_fails, images):
    Image.objects.filter(pk="debian-12").update(properties={"OS": "debian"})
    data = json.loads(manage("image-show", "debian-12", "-o", "json").out)
    assert (data["id"], data["public"], data["owner"], data["property OS"]) == \
        ("debian-12", True, None, "debian")
    assert "property OS" in manage("image-show", "debian-12").out
    manage_fails("image-show", "nope", match="not found")


def test_rows_created_concurrently_are_errors_not_crashes(manage, manage_fails, monkeypatch):
    """Another process creates the same flavor / image between the check and the insert."""
    from django.db.models.query import QuerySet
    manage("flavor-create", "1", "512", "10", "plain")
    manage(*REGISTER, "--public")
    monkeypatch.setattr(QuerySet, "first", lambda self: None)
    monkeypatch.setattr(QuerySet, "exists", lambda self: False)
    manage_fails("flavor-create", "1,2", "512", "10", "plain", match="created meanwhile")
    manage_fails(*REGISTER, "--public", "--name", "Other", match="already exists")
    assert Flavor.objects.count() == 1 and Image.objects.get().name == "Debian 12"
