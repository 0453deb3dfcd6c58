"""Defaults of snf-cyclades-app, one module per area; override them in
/etc/synnefo/*.conf. Every name is documented in docs/settings-*.rst.
"""

from synnefo.app_settings.api import *  # noqa: F401,F403
from synnefo.app_settings.backend import *  # noqa: F401,F403
from synnefo.app_settings.dispatcher import *  # noqa: F401,F403
from synnefo.app_settings.networks import *  # noqa: F401,F403
from synnefo.app_settings.ui import *  # noqa: F401,F403
