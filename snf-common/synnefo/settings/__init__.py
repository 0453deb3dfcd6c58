"""The settings of this Synnefo process (``DJANGO_SETTINGS_MODULE`` too).

Importing this module assembles every setting; see :mod:`.loader`.
"""

from synnefo.settings.loader import load_settings as _load_settings

_load_settings(globals())
