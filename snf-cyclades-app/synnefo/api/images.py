"""Images, the compute view of the image registry (spec 02-api §6).

A user sees the public images and their own; another user's private image
answers 404. Only the owner deletes an image or changes its properties
(403 on a public image of someone else). Image metadata are the image's
``properties``.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from synnefo.api.faults import BadRequest, Forbidden, ItemNotFound, ServiceUnavailable
from synnefo.api.util import (
    api_method,
    check_metadata,
    get_changes_since,
    get_request_dict,
    isoformat,
    render,
    render_empty,
)
from synnefo.db.models import Image


def visible_images(userid):
    """Live images ``userid`` can read: public ones and their own."""
    return (Image.objects.filter(deleted__isnull=True).exclude(status="deleted")
            .filter(Q(public=True) | Q(owner=userid)).order_by("id"))


def properties_of(image):
    """The image properties as strings (the API's metadata are string maps)."""
    return {str(key): value if isinstance(value, str) else str(value)
            for key, value in (image.properties or {}).items()}


def image_to_dict(image, detail=True):
    data = {"id": image.id, "name": image.name}
    if detail:
        data.update(updated=isoformat(image.updated), created=isoformat(image.created),
                    status="DELETED" if image.deleted else "ACTIVE",
                    progress=100 if image.status == "available" else 0)
        properties = properties_of(image)
        if properties:
            data["metadata"] = {"values": properties}
    return data


def get_image(userid, image_id):
    image = visible_images(userid).filter(pk=image_id).first()
    if image is None:
        raise ItemNotFound("Image not found.")
    return image


def lock_own_image(userid, image_id):
    """The caller's image, locked for update (call inside ``transaction.atomic``)."""
    image = visible_images(userid).select_for_update().filter(pk=image_id).first()
    if image is None:
        raise ItemNotFound("Image not found.")
    if image.owner != userid:
        raise Forbidden("Only the owner of an image can modify it.")
    return image


# --- collection ------------------------------------------------------------------

@api_method("GET", "POST")
def images_root(request):
    if request.method == "POST":
        raise ServiceUnavailable("Not supported.")
    return list_images(request, detail=False)


@api_method("GET")
def images_detail(request):
    return list_images(request, detail=True)


def list_images(request, detail):
    since = get_changes_since(request)
    images = visible_images(request.userid)
    if since is not None:
        images = images.filter(updated__gte=since)
        if not images.exists():
            return render_empty(304)
    return render(request, {"images": {"values": [image_to_dict(i, detail) for i in images]}})


# --- one image ---------------------------------------------------------------------

@api_method("GET", "DELETE")
def image_item(request, image_id):
    if request.method == "DELETE":
        with transaction.atomic():
            image = lock_own_image(request.userid, image_id)
            image.deleted = timezone.now()
            image.status = "deleted"
            image.save(update_fields=["deleted", "status", "updated"])
        return render_empty(204)
    return render(request, {"image": image_to_dict(get_image(request.userid, image_id))})


# --- metadata (image properties) -------------------------------------------------------

def _string_map(value):
    if not isinstance(value, dict):
        raise BadRequest("Malformed request")
    check_metadata(value)
    return value


@api_method("GET", "POST")
def image_metadata(request, image_id):
    if request.method == "GET":
        image = get_image(request.userid, image_id)
        return render(request, {"metadata": {"values": properties_of(image)}})
    items = _string_map(get_request_dict(request).get("metadata"))
    with transaction.atomic():
        image = lock_own_image(request.userid, image_id)
        image.properties = dict(image.properties or {}, **items)
        image.save(update_fields=["properties", "updated"])
    return render(request, {"metadata": properties_of(image)}, status=201)


@api_method("GET", "PUT", "DELETE")
def image_metadata_item(request, image_id, key):
    if request.method == "GET":
        properties = properties_of(get_image(request.userid, image_id))
        if key not in properties:
            raise ItemNotFound("Metadata key not found.")
        return render(request, {"meta": {key: properties[key]}})
    if request.method == "PUT":
        meta = _string_map(get_request_dict(request).get("meta"))
        if list(meta) != [key]:
            raise BadRequest("The body must hold exactly the key of the URL.")
        with transaction.atomic():
            image = lock_own_image(request.userid, image_id)
            image.properties = dict(image.properties or {}, **meta)
            image.save(update_fields=["properties", "updated"])
        return render(request, {"meta": {key: meta[key]}}, status=201)
    with transaction.atomic():
        image = lock_own_image(request.userid, image_id)
        properties = dict(image.properties or {})
        if key in properties:  # deleting a missing key is a no-op (spec 02 §6)
            del properties[key]
            image.properties = properties
            image.save(update_fields=["properties", "updated"])
    return render_empty(204)
