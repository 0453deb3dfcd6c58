"""Backend.hash was an unsalted SHA-256 of "cluster:port:user:password" (an
offline guess of the RAPI password from a database dump): replace it, and
every copy of it in VirtualMachine.backend_hash, by a random version stamp."""

import secrets

from django.db import migrations


def new_stamps(apps, schema_editor):
    Backend = apps.get_model("db", "Backend")
    VirtualMachine = apps.get_model("db", "VirtualMachine")
    for backend in Backend.objects.all().only("pk"):
        stamp = secrets.token_hex(16)
        Backend.objects.filter(pk=backend.pk).update(hash=stamp)
        VirtualMachine.objects.filter(backend_id=backend.pk).update(backend_hash=stamp)
    VirtualMachine.objects.filter(backend__isnull=True).exclude(backend_hash="").update(backend_hash="")


class Migration(migrations.Migration):

    dependencies = [
        ("db", "0003_virtualmachine_last_reconciled"),
    ]

    operations = [
        migrations.RunPython(new_stamps, migrations.RunPython.noop),
    ]
