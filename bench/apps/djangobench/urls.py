"""URLs of the benchmark's Django project: the catalog at the root."""

from django.urls import path

from djangobench.catalog import views

urlpatterns = [
    path("", views.items, name="items"),
]
