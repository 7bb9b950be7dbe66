"""The catalog's view: 20 active products from the database, rendered."""

from django.shortcuts import render

from djangobench.catalog.models import Product

PAGE = 20


def items(request):
    products = Product.objects.filter(active=True).order_by("sku")[:PAGE]
    return render(request, "catalog/items.html", {"products": products})
