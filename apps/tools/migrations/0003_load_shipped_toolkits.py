"""Install the shipped toolkit catalog (apps/tools/toolkits/catalog.json); ``manage.py load_toolkits`` updates it later."""
from django.db import migrations


def install(apps, schema_editor):
    from apps.tools.toolkits.catalog import catalog_install

    catalog_install(apps.get_model("tools", "Toolkit"))


class Migration(migrations.Migration):
    dependencies = [("tools", "0002_toolkits_and_profiles")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
