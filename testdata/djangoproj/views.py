import threading

from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt


def hello(request):
    return HttpResponse("hello from django", content_type="text/plain")


def article(request, pk):
    return HttpResponse("article %d" % pk, content_type="text/plain")


def reverse_view(request):
    return JsonResponse({
        "hello": reverse("hello"),
        "article": reverse("article", args=[42]),
        "absolute": request.build_absolute_uri(reverse("hello")),
        "script_name": request.META.get("SCRIPT_NAME"),
        "path": request.path,
        "path_info": request.path_info,
    })


@csrf_exempt
def post_exempt(request):
    return JsonResponse({
        "method": request.method,
        "post": {k: request.POST.getlist(k) for k in request.POST},
        "body_len": len(request.body),
        "content_type": request.META.get("CONTENT_TYPE"),
    })


def post_protected(request):
    return HttpResponse("should be refused without a CSRF token")


def meta(request):
    keys = ["REQUEST_METHOD", "QUERY_STRING", "REMOTE_ADDR", "SERVER_NAME", "SERVER_PORT",
            "SERVER_PROTOCOL", "HTTP_X_CUSTOM", "HTTP_HOST", "SCRIPT_NAME", "PATH_INFO",
            "wsgi.url_scheme", "wsgi.multithread"]
    return JsonResponse({
        "meta": {k: request.META.get(k) for k in keys},
        "get": {k: request.GET.getlist(k) for k in request.GET},
        "host": request.get_host(),
        "secure": request.is_secure(),
        "thread": threading.current_thread().name,
    })


def crash(request):
    raise ValueError("django view crashed")
