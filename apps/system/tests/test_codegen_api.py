"""003's code generator: admins configure an app for a table; generate returns it as a zip that passes
ruff and imports cleanly in a throwaway settings module."""
from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

URL = "/api/v1/admin/gen/business"
pytestmark = pytest.mark.django_db
PROJECT = Path(django_settings.BASE_DIR)


@pytest.fixture
def probe_table():
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE TABLE gen_probe (id serial PRIMARY KEY, "class" varchar(40) NOT NULL, "Weird Name" text, '
            "price numeric(10, 2), created timestamptz, payload jsonb, \"2nd\" integer)"
        )
    return "gen_probe"


def _config(client, **fields):
    body = {"app_label": "probes", "table_name": "gen_probe", "business_name": 'Probe "rows"',
            "class_name": "Probe", **fields}
    return client.post(URL, body, format="json")


def test_an_admin_configures_and_lists(admin_client, probe_table):
    response = _config(admin_client)
    assert response.status_code == 201, response.content
    assert response.json()["app_label"] == "probes"
    assert [c["table_name"] for c in admin_client.get(URL).json()] == ["gen_probe"]
    assert _config(admin_client).status_code == 409


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"table_name": "no_such_table"}, "table_name"), ({"table_name": "x; drop table y"}, "table_name"),
     ({"app_label": "1bad"}, "app_label"), ({"app_label": "import"}, "app_label"),
     ({"class_name": "class"}, "class_name"), ({"class_name": "Bad Name"}, "class_name"),
     ({"options": {"evil": True}}, "options"), ({"options": {"read_only": "yes"}}, "options")],
)
def test_it_refuses_unknown_tables_and_invalid_identifiers(admin_client, probe_table, fields, field):
    response = _config(admin_client, **fields)
    assert response.status_code == 400
    assert field in response.json()["errors"] and response.json()["code"]


def test_only_admins_use_the_generator(alice_client, anon, admin_client, probe_table):
    assert alice_client.get(URL).status_code == 403
    assert anon.get(URL).status_code == 401
    assert _config(alice_client).status_code == 403
    config_id = _config(admin_client).json()["id"]
    assert alice_client.post(f"{URL}/{config_id}/generate").status_code == 403
    assert anon.post(f"{URL}/{config_id}/generate").status_code == 401
    assert admin_client.post(f"{URL}/999999/generate").status_code == 404
    assert admin_client.post(f"{URL}/nope/generate").status_code == 404


@pytest.mark.parametrize("read_only", [False, True])
def test_the_generated_app_passes_ruff_and_imports_cleanly(admin_client, probe_table, tmp_path, read_only):
    config_id = _config(admin_client, options={"read_only": read_only}).json()["id"]
    response = admin_client.post(f"{URL}/{config_id}/generate")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == sorted(f"probes/{name}" for name in [
        "__init__.py", "apps.py", "models.py", "services.py", "selectors.py", "api/__init__.py",
        "api/serializers.py", "api/views.py", "urls.py", "admin.py", "tests/__init__.py", "tests/test_api.py"])
    archive.extractall(tmp_path)
    models = (tmp_path / "probes/models.py").read_text()
    assert "id = models.AutoField(primary_key=True)" in models
    assert "class_field = models.CharField(db_column='class', max_length=40)" in models
    assert "weird_name = models.TextField(db_column='Weird Name', null=True, blank=True)" in models
    assert "price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)" in models
    assert "field_2nd = models.IntegerField(db_column='2nd', null=True, blank=True)" in models
    assert 'db_table = "gen_probe"' in models
    assert ("def put" in (tmp_path / "probes/api/views.py").read_text()) is not read_only

    lint = subprocess.run([str(PROJECT / ".venv/bin/ruff"), "check", "--config", str(PROJECT / "ruff.toml"),
                           "--no-cache", str(tmp_path / "probes")], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr

    (tmp_path / "throwaway_settings.py").write_text(textwrap.dedent("""
        SECRET_KEY = "throwaway"
        USE_TZ = True
        DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
        INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.admin",
                          "django.contrib.sessions", "django.contrib.messages", "rest_framework", "probes"]
        DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
        ROOT_URLCONF = "probes.urls"
    """))
    script = textwrap.dedent("""
        import importlib
        import django
        django.setup()
        for name in ["models", "services", "selectors", "api.serializers", "api.views", "urls", "admin",
                     "tests.test_api"]:
            importlib.import_module(f"probes.{name}")
        from django.contrib import admin
        from django.urls import reverse
        from probes.models import Probe
        assert Probe._meta.db_table == "gen_probe" and not Probe._meta.managed
        assert admin.site.is_registered(Probe)
        print(reverse("probes-list"), reverse("probes-detail", args=["1"]))
    """)
    env = {"DJANGO_SETTINGS_MODULE": "throwaway_settings", "PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["/api/v1/gen/probes/probe", "/api/v1/gen/probes/probe/1"]
