"""The WSGI entry point, loaded by the Go program as

    adminsite.wsgi:create_app("/path/to/data", "admin")

create_app prepares everything on start, inside the embedded interpreter,
so there is no manual step: it creates and migrates the SQLite database,
makes sure the admin user exists (with no usable Django password: Go checks
passwords), collects the static files for Go to serve, and returns Django's
WSGI application.
"""

import os


def create_app(data_dir, admin_user):
    if not admin_user:
        raise ValueError("create_app: the admin user name is empty")
    os.environ["GOWSGI_DJANGO_DATA"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")

    import django

    django.setup(set_prefix=False)

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.db import connections

    call_command("migrate", interactive=False, verbosity=0)
    User = get_user_model()
    user, created = User.objects.get_or_create(username=admin_user)
    if created or not (user.is_staff and user.is_superuser and user.is_active):
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_unusable_password()
        user.save()
    call_command("collectstatic", interactive=False, verbosity=0)
    # Requests run on other threads, each with its own connection.
    connections.close_all()
    return get_wsgi_application()
