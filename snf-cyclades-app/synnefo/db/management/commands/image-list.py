"""snf-manage image-list."""

from django.db.models import Q
from synnefo.db.management.common import ManageCommand, get_user
from synnefo.db.models import Image
from synnefo.webproject.management.output import add_output_argument, print_rows

HEADERS = ["id", "name", "owner", "public", "status", "disk_format", "size", "location"]


class Command(ManageCommand):
    help = ("List the images of the registry (deleted ones only with --deleted); --user-id "
            "lists what that user can see: public images and its own.")

    def add_arguments(self, parser):
        parser.add_argument("--user-id", help="only images visible to this user (uniq)")
        parser.add_argument("--public", action="store_true", help="only public images")
        parser.add_argument("--deleted", action="store_true", help="include deleted images")
        add_output_argument(parser)

    def handle(self, *args, **options):
        images = Image.objects.all()
        if options["user_id"] is not None:
            user = get_user(options["user_id"])
            images = images.filter(Q(public=True) | Q(owner=user.uniq))
        if options["public"]:
            images = images.filter(public=True)
        if not options["deleted"]:
            images = images.filter(deleted__isnull=True)
        rows = [(i.id, i.name, i.owner, i.public, i.status, i.disk_format, i.size, i.location)
                for i in images.order_by("id")]
        print_rows(self.stdout, HEADERS, rows, options["output"])
