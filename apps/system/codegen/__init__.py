"""The code generator: a Django app in our layout for one existing table, from Django's introspection.

:func:`table_model` reads the table through ``connection.introspection`` (the machinery of
``inspectdb``); :func:`render_app` writes the app's modules; :func:`app_zip` packs them.
"""
from apps.system.codegen.generate import app_zip, check_names, render_app, table_model

__all__ = ["app_zip", "check_names", "render_app", "table_model"]
