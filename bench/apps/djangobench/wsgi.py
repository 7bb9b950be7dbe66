"""The WSGI entry point: djangobench.wsgi:application."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangobench.settings")

application = get_wsgi_application()
