#!/usr/bin/env python3
"""Django's command-line utility, for development chores on this example
(makemigrations, shell). The Go program does migrate/collectstatic itself.
Run it with Debian's Python: /usr/bin/python3 manage.py ..."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
