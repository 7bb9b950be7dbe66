"""The catalog's one model."""

from django.db import models


class Product(models.Model):
    sku = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=64)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    stock = models.PositiveIntegerField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self):
        return self.name
