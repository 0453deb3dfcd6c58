"""Flavors: ``GET /flavors[/detail]`` and ``GET /flavors/{id}`` (spec 02-api §5)."""

from synnefo.api.faults import ItemNotFound
from synnefo.api.util import api_method, render
from synnefo.db.models import Flavor

MAX_DB_ID = 2 ** 63 - 1  # the largest id any supported database column can hold


def flavor_to_dict(flavor, detail=True):
    data = {"id": flavor.id, "name": flavor.name}
    if detail:
        data.update(ram=flavor.ram, disk=flavor.disk, cpu=flavor.cpu)
        data["SNF:disk_template"] = flavor.disk_template
    return data


@api_method("GET")
def list_flavors(request, detail=False):
    """Non-deleted flavors ordered by id."""
    flavors = Flavor.objects.filter(deleted=False).order_by("id")
    return render(request, {"flavors": {"values": [flavor_to_dict(f, detail) for f in flavors]}})


@api_method("GET")
def get_flavor_details(request, flavor_id):
    """One flavor, deleted ones included (servers still refer to them)."""
    flavor_id = int(flavor_id)  # the URL pattern only lets digits through
    flavor = Flavor.objects.filter(pk=flavor_id).first() if flavor_id <= MAX_DB_ID else None
    if flavor is None:
        raise ItemNotFound("Flavor not found.")
    return render(request, {"flavor": flavor_to_dict(flavor)})
