"""Creates and fills the django workload's SQLite database.

    python3 bench/djangodb.py [PATH]

PATH defaults to bench/.build/djangobench.sqlite3, where
bench/apps/djangobench/settings.py looks for it. The file is made anew
(migrate, then 60 products, 50 of them active) in a temporary file beside
PATH and renamed into place, so a server never sees it half made.
bench/cmd/benchrun runs this before the django workload."""

import os
import sys
from decimal import Decimal
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PRODUCTS = 60


def main():
    path = Path(sys.argv[1] if len(sys.argv) > 1 else BENCH / ".build" / "djangobench.sqlite3").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    os.environ["DJANGOBENCH_DB"] = str(tmp)
    os.environ["DJANGO_SETTINGS_MODULE"] = "djangobench.settings"
    sys.path.insert(0, str(BENCH / "apps"))

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)

    from django.db import connection
    from djangobench.catalog.models import Product

    Product.objects.bulk_create(
        Product(
            sku="P-%03d" % i,
            name="Item %d" % i,
            price=Decimal(i * 137 % 10000) / 100 + 1,
            stock=i * 7 % 250,
            active=i % 6 != 5,
        )
        for i in range(PRODUCTS)
    )
    count = Product.objects.count()
    connection.close()
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    print("djangodb: %s: %d products" % (path, count))


if __name__ == "__main__":
    main()
