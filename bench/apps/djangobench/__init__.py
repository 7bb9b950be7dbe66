"""djangobench: a minimal Django project for the benchmark's django
workload. One app, catalog, with one model; its view reads 20 rows through
the ORM from SQLite and renders them with a template (about 1.1 KB).

The database is bench/.build/djangobench.sqlite3 (or $DJANGOBENCH_DB); the
suite creates and fills it with bench/djangodb.py before it starts the
servers. Serve it as djangobench.wsgi:application from bench/apps."""
