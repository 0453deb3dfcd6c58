"""snf-manage image-show."""

from synnefo.db.management.common import ManageCommand, get_image
from synnefo.db.management.images import image_pairs
from synnefo.webproject.management.output import add_output_argument, print_object


class Command(ManageCommand):
    help = "Show an image of the registry with its properties."

    def add_arguments(self, parser):
        parser.add_argument("image_id")
        add_output_argument(parser)

    def handle(self, *args, **options):
        print_object(self.stdout, image_pairs(get_image(options["image_id"])), options["output"])
