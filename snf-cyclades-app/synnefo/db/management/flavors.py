"""Validation of flavor sizes and disk templates for the flavor-* commands."""

import re

from django.conf import settings
from django.core.management.base import CommandError
from synnefo.db.management.common import positive_int

EXT_PROVIDER_RE = re.compile(r"^ext_[A-Za-z0-9][A-Za-z0-9_.-]{0,27}$")


def checked_template(value):
    """A disk template Ganeti knows (``GANETI_DISK_TEMPLATES``), or ``ext_<provider>``."""
    allowed = list(settings.GANETI_DISK_TEMPLATES)
    if value in allowed:
        return value
    if "ext" in allowed and EXT_PROVIDER_RE.match(value):
        return value
    raise CommandError("Unknown disk template %r: use one of %s (GANETI_DISK_TEMPLATES)%s"
                       % (value, ", ".join(allowed),
                          " or ext_<provider>" if "ext" in allowed else ""))


def split_values(values, option):
    """Values given as several arguments and/or comma-separated lists, without repeats."""
    result = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                raise CommandError("%s has an empty value in %r" % (option, value))
            if item not in result:
                result.append(item)
    return result


def sizes(values, option):
    numbers = []
    for item in split_values(values, option):
        number = positive_int(item, option)
        if number not in numbers:
            numbers.append(number)
    return numbers
