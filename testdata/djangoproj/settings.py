"""Minimal Django settings for gowsgi's end-to-end tests: no database, no
installed apps, CSRF protection on (views opt out with csrf_exempt).
FORCE_SCRIPT_NAME stays unset: the mount point comes from SCRIPT_NAME."""

SECRET_KEY = "gowsgi-test-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "djangoproj.urls"
INSTALLED_APPS = []
DATABASES = {}
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
USE_TZ = True
USE_I18N = False
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
