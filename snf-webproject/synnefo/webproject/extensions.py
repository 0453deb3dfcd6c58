"""Pieces that installed Synnefo packages add to the Django project."""

import importlib

from synnefo.settings.loader import synnefo_entry_points


def load_entry_point_values(name):
    values = []
    for ep in synnefo_entry_points(name):
        module_name, _, attr = ep.value.partition(":")
        module = importlib.import_module(module_name)
        values.extend(getattr(module, attr) if attr else module)
    return values


def extend_unique(target, extra):
    for item in extra:
        if item not in target:
            target.append(item)
    return target
