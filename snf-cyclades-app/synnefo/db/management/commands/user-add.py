"""snf-manage user-add: create an API user and its first token."""

from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from synnefo.db.management.common import ManageCommand, checked_text
from synnefo.db.management.users import (
    checked_email,
    checked_lifetime,
    checked_limit,
    checked_uniq,
    default_lifetime,
    print_new_token,
)
from synnefo.db.models import User
from synnefo.logic.users import issue_token


class Command(ManageCommand):
    help = ("Create an API user and print its first token once (line 'token: <token>'). "
            "Only the token's SHA-256 is stored.")

    def add_arguments(self, parser):
        parser.add_argument("--uniq", required=True,
                            help="the user's unique id (owner of servers and networks)")
        parser.add_argument("--name", default="", help="display name")
        parser.add_argument("--email", default="", help="e-mail address")
        parser.add_argument("--max-vms", metavar="N",
                            help="own limit of live servers (default: MAX_VMS_PER_USER)")
        parser.add_argument("--max-networks", metavar="N",
                            help="own limit of private networks (default: MAX_NETWORKS_PER_USER)")
        parser.add_argument("--inactive", action="store_true",
                            help="create the user inactive (its tokens do not authenticate)")
        parser.add_argument("--token-lifetime", metavar="DAYS",
                            help="days until the token expires, 0 = never "
                                 "(default: TOKEN_LIFETIME_DAYS)")

    def handle(self, *args, **options):
        uniq = checked_uniq(options["uniq"])
        name = checked_text(options["name"], "--name", 255)
        email = checked_email(options["email"])
        max_vms = checked_limit(options["max_vms"], "--max-vms")
        max_networks = checked_limit(options["max_networks"], "--max-networks")
        lifetime = checked_lifetime(options["token_lifetime"])
        if lifetime is None:
            lifetime = default_lifetime()
        if User.objects.filter(uniq=uniq).exists():
            raise CommandError("User %r already exists" % uniq)
        try:
            with transaction.atomic():
                user = User.objects.create(uniq=uniq, name=name, email=email, max_vms=max_vms,
                                           max_networks=max_networks, active=not options["inactive"])
                token = issue_token(user, lifetime)
        except IntegrityError as exc:  # created by someone else meanwhile
            raise CommandError("User %r already exists" % uniq) from exc
        print_new_token(self, user, token, lifetime)
        self.stdout.write("Created user %d (%s)%s" % (user.id, user.uniq,
                                                       ", inactive" if not user.active else ""))
