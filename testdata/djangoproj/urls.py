from django.urls import path

from . import views

urlpatterns = [
    path("hello/", views.hello, name="hello"),
    path("article/<int:pk>/", views.article, name="article"),
    path("reverse/", views.reverse_view, name="reverse"),
    path("post/", views.post_exempt, name="post"),
    path("protected/", views.post_protected, name="protected"),
    path("meta/", views.meta, name="meta"),
    path("crash/", views.crash, name="crash"),
]
