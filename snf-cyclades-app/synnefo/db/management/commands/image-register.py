"""snf-manage image-register: add an image to the image registry."""

from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from synnefo.db.management.common import ManageCommand, checked_text, get_user, non_negative_int
from synnefo.db.management.images import checked_image_id, checked_properties, image_pairs
from synnefo.db.models import IMAGE_CONTAINER_FORMATS, IMAGE_DISK_FORMATS, Image
from synnefo.webproject.management.output import add_output_argument, print_object


class Command(ManageCommand):
    help = ("Register an image that servers can be created from: a public (system) image, or one "
            "owned by a user (--owner), optionally public too.")

    def add_arguments(self, parser):
        parser.add_argument("--id", required=True, help="image id (letters, digits, '-', '_')")
        parser.add_argument("--name", required=True, help="display name")
        parser.add_argument("--location", required=True,
                            help="where the image backend finds it, e.g. pithos://owner/images/debian")
        parser.add_argument("--disk-format", choices=IMAGE_DISK_FORMATS, default="diskdump")
        parser.add_argument("--container-format", choices=IMAGE_CONTAINER_FORMATS, default="bare")
        parser.add_argument("--owner", help="uniq of the owning user (default: a system image)")
        parser.add_argument("--public", action="store_true", help="visible to every user")
        parser.add_argument("--size", default="0", help="size in bytes")
        parser.add_argument("--checksum", default="", help="checksum of the image file")
        parser.add_argument("--property", action="append", default=[], metavar="KEY=VALUE",
                            help="image property, repeatable: --property OS=debian "
                                 "--property osfamily=linux")
        add_output_argument(parser)

    def handle(self, *args, **options):
        image_id = checked_image_id(options["id"])
        name = checked_text(options["name"], "--name", 255, allow_empty=False)
        location = checked_text(options["location"], "--location", 1024, allow_empty=False)
        checksum = checked_text(options["checksum"], "--checksum", 128)
        size = non_negative_int(options["size"], "--size", maximum=2**63 - 1)
        properties = checked_properties(options["property"])
        owner = get_user(options["owner"]).uniq if options["owner"] is not None else None
        if owner is None and not options["public"]:
            raise CommandError("An image needs an --owner, or --public for a system image")
        if Image.objects.filter(pk=image_id).exists():
            raise CommandError("Image %r already exists" % image_id)
        try:
            with transaction.atomic():
                # force_insert: never turn into an update of an image registered meanwhile
                image = Image(
                    id=image_id, name=name, location=location, owner=owner, public=options["public"],
                    disk_format=options["disk_format"], container_format=options["container_format"],
                    size=size, checksum=checksum, properties=properties)
                image.save(force_insert=True)
        except IntegrityError as exc:
            raise CommandError("Image %r already exists" % image_id) from exc
        print_object(self.stdout, image_pairs(image), options["output"])
