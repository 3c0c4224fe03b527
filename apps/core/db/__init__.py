"""The database backend (``DATABASES[...]["ENGINE"] = "apps.core.db"``): Django's PostgreSQL one, with
health checks that also run in threads that live for the whole process (see :mod:`.base`)."""
