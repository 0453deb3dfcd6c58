"""Validation and display of images for the image-* commands."""

import re

from django.core.management.base import CommandError
from synnefo.db.management.common import checked_text, when

IMAGE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PROPERTY_KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def checked_image_id(value):
    if not IMAGE_ID_RE.match(value or ""):
        raise CommandError("--id must be 1 to 64 letters, digits, '-' or '_', not %r" % value)
    return value


def checked_properties(items):
    """``KEY=VALUE`` strings as a dict; a key given twice is an error."""
    properties = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not PROPERTY_KEY_RE.match(key):
            raise CommandError("--property must be KEY=VALUE with a key of letters, digits, "
                               "'_', '.', ':' or '-', not %r" % item)
        if key in properties:
            raise CommandError("--property %s given twice" % key)
        properties[key] = checked_text(value, "--property %s" % key, 1024)
    return properties


def image_pairs(image):
    pairs = [
        ("id", image.id), ("name", image.name), ("owner", image.owner), ("public", image.public),
        ("location", image.location), ("disk_format", image.disk_format),
        ("container_format", image.container_format), ("status", image.status),
        ("size", image.size), ("checksum", image.checksum),
        ("created", when(image.created)), ("updated", when(image.updated)),
        ("deleted", when(image.deleted)),
    ]
    for key in sorted(image.properties or {}):
        pairs.append(("property %s" % key, image.properties[key]))
    return pairs
