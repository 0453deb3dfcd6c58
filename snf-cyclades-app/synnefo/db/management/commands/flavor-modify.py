"""snf-manage flavor-modify: mark a flavor deleted (no new servers) or undeleted."""

from django.core.management.base import CommandError
from django.db import transaction
from synnefo.db.management.common import ManageCommand, get_flavor
from synnefo.db.models import Flavor

YES_NO = {"yes": True, "no": False}


class Command(ManageCommand):
    help = ("Modify a flavor: --deleted yes hides it from the API and refuses new servers with it "
            "(existing servers keep it); --deleted no brings it back.")

    def add_arguments(self, parser):
        parser.add_argument("flavor_id")
        parser.add_argument("--deleted", choices=sorted(YES_NO), help="yes or no")

    def handle(self, *args, **options):
        flavor = get_flavor(options["flavor_id"])
        if options["deleted"] is None:
            raise CommandError("Nothing to change: give --deleted yes|no")
        deleted = YES_NO[options["deleted"]]
        with transaction.atomic():
            Flavor.objects.filter(pk=flavor.pk).update(deleted=deleted)
        self.stdout.write("Flavor %d (%s): deleted=%s" % (flavor.id, flavor.name, options["deleted"]))
