"""snf-manage user-show."""

from synnefo.db.management.common import ManageCommand, get_user
from synnefo.db.management.users import user_pairs
from synnefo.webproject.management.output import add_output_argument, print_object


class Command(ManageCommand):
    help = ("Show a user: limits (own and effective), usage, and its tokens by state and dates "
            "(tokens themselves are never stored).")

    def add_arguments(self, parser):
        parser.add_argument("user", help="the user's uniq (or numeric id)")
        add_output_argument(parser)

    def handle(self, *args, **options):
        print_object(self.stdout, user_pairs(get_user(options["user"])), options["output"])
