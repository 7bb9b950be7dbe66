"""Settings of the django-admin example.

Nothing secret lives here:
- SECRET_KEY is $DJANGO_SECRET_KEY, or a random key generated on the first
  start and kept in the data directory (mode 0600) next to the database;
- users have no Django password at all: the Go program in front
  authenticates them and passes the user name in REMOTE_USER, which
  RemoteUserMiddleware and the backend below trust.

The data directory is $GOWSGI_DJANGO_DATA (the Go program sets it from its
-data flag); it holds db.sqlite3, secret_key and static/ (collectstatic).
"""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("GOWSGI_DJANGO_DATA") or BASE_DIR.parent / "data").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key():
    key = os.environ.get("DJANGO_SECRET_KEY")
    if key:
        return key
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    # O_EXCL: if two processes start at once, one key wins.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = [h.strip() for h in
                 os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
                 if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "notes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After AuthenticationMiddleware: logs in the user named by REMOTE_USER,
    # which only the Go program can set (a client's "Remote-User" header
    # arrives as HTTP_REMOTE_USER and is ignored).
    "django.contrib.auth.middleware.RemoteUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Only REMOTE_USER logins: Django never checks a password itself.
AUTHENTICATION_BACKENDS = ["adminsite.auth.GoRemoteUserBackend"]

ROOT_URLCONF = "adminsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "db.sqlite3",
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_L10N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Served by Go's http.FileServer from STATIC_ROOT, filled by collectstatic
# on start. An absolute STATIC_URL is not prefixed with SCRIPT_NAME.
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"

# The Go login owns sign-in and sign-out.
LOGIN_URL = "/login"

# Cookies are scoped to the whole site: the Go login shares the host.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Python's stderr is the Go process's stderr.
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
