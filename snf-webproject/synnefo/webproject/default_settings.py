"""Defaults of the Django project (snf-webproject).

Site configuration overrides them in ``/etc/synnefo/*.conf``.
"""

import os

from synnefo.webproject.database import use_pymysql_if_needed as _use_pymysql_if_needed

_use_pymysql_if_needed()

# Where the embedded defaults keep their files (SQLite DB, broker folder...).
SYNNEFO_DATA_DIR = os.environ.get("SYNNEFO_DATA_DIR", "/var/lib/synnefo")

DEBUG = False
TEST = False

# Must be changed in production: signs sessions and derives nothing else.
SECRET_KEY = "change-me: set SECRET_KEY in /etc/synnefo/10-snf-webproject-deploy.conf"

ALLOWED_HOSTS = ["*"]
USE_X_FORWARDED_HOST = True

# SQLite by default, in write-ahead-log mode, under SYNNEFO_DATA_DIR.
# Production: PostgreSQL, e.g.
#   DATABASES["default"] = {"ENGINE": "django.db.backends.postgresql",
#                           "NAME": "synnefo", "USER": "synnefo", "HOST": "db",
#                           "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
# or MySQL/MariaDB (driver: PyMySQL, or mysqlclient when installed), READ COMMITTED:
#   DATABASES["default"] = {"ENGINE": "django.db.backends.mysql",
#                           "NAME": "synnefo", "USER": "synnefo", "HOST": "db",
#                           "OPTIONS": {"isolation_level": "read committed",
#                                       "charset": "utf8mb4"}}
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(SYNNEFO_DATA_DIR, "synnefo.sqlite3"),
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
        # A connection is kept across requests (opening one, with its
        # PRAGMAs, cost more than a small answer) and checked before reuse,
        # so one broken by a database restart is replaced, not failed on.
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}
# Seconds a PostgreSQL or MySQL/MariaDB connection waits for a row lock before
# its statement fails (the request answers 503, the dispatcher retries);
# 0 waits forever. SQLite uses its "timeout" option above.
DATABASE_LOCK_TIMEOUT = 10

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Times are stored and shown in UTC; the API relies on it.
TIME_ZONE = "UTC"
USE_TZ = True
USE_I18N = False
LANGUAGE_CODE = "en-us"

ROOT_URLCONF = "synnefo.webproject.urls"
WSGI_APPLICATION = "synnefo.webproject.wsgi.application"
APPEND_SLASH = False

# Packages add their applications through the "web_apps" entry point.
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.staticfiles",
    "synnefo.webproject",
]

# WhiteNoise serves the collected static files (the web UI's) from the API
# server itself; a web server in front may serve STATIC_ROOT instead.
MIDDLEWARE = [
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
]

# Static files: `snf-manage collectstatic` copies every application's static
# files to STATIC_ROOT, served under STATIC_URL.
STATIC_URL = "/static/"
STATIC_ROOT = os.path.join(SYNNEFO_DATA_DIR, "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Also writes .gz copies next to the files, which WhiteNoise sends to clients that accept them.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]

LOGGING_CONFIG = "logging.config.dictConfig"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "synnefo": {"level": "INFO"},
    },
}


def _installed_apps():
    from synnefo.webproject.extensions import extend_unique, load_entry_point_values
    return extend_unique(list(INSTALLED_APPS), load_entry_point_values("web_apps"))


INSTALLED_APPS = _installed_apps()
