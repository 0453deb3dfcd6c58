"""snf-manage user-list."""

from django.db.models import Count
from synnefo.db.management.common import ManageCommand, when
from synnefo.db.management.users import valid_token_filter
from synnefo.db.models import User
from synnefo.logic.users import network_limit, vm_limit
from synnefo.webproject.management.output import add_output_argument, print_rows

HEADERS = ["id", "uniq", "name", "email", "active", "vm_limit", "network_limit", "valid_tokens",
           "created"]


class Command(ManageCommand):
    help = "List the API users with their effective limits and number of valid tokens."

    def add_arguments(self, parser):
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--active", dest="active", action="store_const", const=True,
                           help="only active users")
        state.add_argument("--inactive", dest="active", action="store_const", const=False,
                           help="only inactive users")
        add_output_argument(parser)

    def handle(self, *args, **options):
        users = User.objects.annotate(
            valid_tokens=Count("tokens", filter=valid_token_filter("tokens__"))).order_by("id")
        if options["active"] is not None:
            users = users.filter(active=options["active"])
        rows = [(u.id, u.uniq, u.name, u.email, u.active, vm_limit(u), network_limit(u),
                 u.valid_tokens, when(u.created)) for u in users]
        print_rows(self.stdout, HEADERS, rows, options["output"])
