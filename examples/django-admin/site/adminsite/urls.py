"""The Go program mounts this Django project at /admin/, so SCRIPT_NAME is
"/admin" and the admin sits at the project's root: reverse() and every
admin link put the prefix back."""

from django.contrib import admin
from django.urls import path

admin.site.site_header = "gowsgi example: Django admin behind a Go login"
admin.site.site_title = "gowsgi admin"
admin.site.site_url = None  # no "View site" link: the site is the admin

urlpatterns = [
    path("", admin.site.urls),
]
