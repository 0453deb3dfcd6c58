"""The shipped fixtures (flavors, images) and the sample users file load and make sense."""

import os
import re

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection
from synnefo.db.models import AuthToken, Flavor, Image, User

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SAMPLE_USERS = os.path.join(REPO, "docs", "samples", "users.json")


@pytest.fixture
def loaded(db):
    call_command("loaddata", "flavors", "images", verbosity=0)


def test_fixtures_load_and_pass_every_constraint(loaded):
    connection.check_constraints()
    assert Flavor.objects.filter(deleted=False).count() >= 4
    assert Image.objects.filter(public=True, deleted__isnull=True).count() >= 2


def test_loading_again_changes_nothing(loaded):
    before = (list(Flavor.objects.values_list()), list(Image.objects.values_list()))
    call_command("loaddata", "flavors", "images", verbosity=0)
    assert (list(Flavor.objects.values_list()), list(Image.objects.values_list())) == before


def test_flavor_1_and_the_readme_image_exist(loaded):
    readme = open(os.path.join(REPO, "README.md")).read()
    refs = re.findall(r'"imageRef": "([^"]+)", "flavorRef": (\d+)', readme)
    assert refs, "README shows no server creation"
    for image_id, flavor_id in refs:
        assert Image.objects.get(pk=image_id).public
        assert not Flavor.objects.get(pk=int(flavor_id)).deleted
    assert Image.objects.filter(pk="debian-12", public=True, status="available").exists()


def test_images_are_system_images_with_os_properties(loaded):
    for image in Image.objects.all():
        assert image.owner is None and image.public and image.status == "available"
        assert image.location.startswith("pithos://")
        assert {"OS", "osfamily", "root_partition"} <= set(image.properties)


def test_flavor_disk_templates_run_on_the_simulator(loaded, settings):
    executor = pytest.importorskip("synnefo.tools.ganeti_sim.executor")
    templates = set(Flavor.objects.values_list("disk_template", flat=True))
    assert templates <= set(executor.DISK_TEMPLATES)
    assert templates <= set(settings.GANETI_DISK_TEMPLATES)
    # the simulator's instance policy: 128 MiB .. 32 GiB of memory, disks of at least 1 GiB
    for flavor in Flavor.objects.all():
        assert 128 <= flavor.ram <= 32768 and flavor.disk >= 1


def test_sample_users_load_without_tokens(db):
    call_command("loaddata", SAMPLE_USERS, verbosity=0)
    users = list(User.objects.order_by("uniq"))
    assert len(users) >= 2 and all(u.uniq for u in users)
    assert AuthToken.objects.count() == 0
    assert any(not u.active for u in users) and any(u.max_vms is not None for u in users)
    # no fixed primary keys: loading never overwrites existing users, a second load is refused
    with pytest.raises(IntegrityError):
        call_command("loaddata", SAMPLE_USERS, verbosity=0)


def test_new_flavors_after_loading_get_fresh_ids(loaded, manage):
    """loaddata resets the id sequences (PostgreSQL), so flavor-create does not collide with them."""
    top = Flavor.objects.order_by("-id").first().id
    result = manage("flavor-create", "3", "3072", "30", "plain")
    assert result.code in (0, None), result
    assert Flavor.objects.get(cpu=3).id > top
