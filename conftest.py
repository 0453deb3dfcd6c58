"""Root test configuration: the default stack is SQLite + the file-system broker."""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("SYNNEFO_SETTINGS_DIR", os.path.join(HERE, "ci", "settings", "sqlite"))
