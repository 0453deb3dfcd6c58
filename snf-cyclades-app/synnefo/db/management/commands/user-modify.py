"""snf-manage user-modify: name, e-mail, limits, active and staff flags, suspension, token renewal."""

from django.core.management.base import CommandError
from django.db import transaction
from synnefo.db.management.common import ManageCommand, checked_text, get_user
from synnefo.db.management.users import (
    checked_email,
    checked_lifetime,
    checked_limit,
    default_lifetime,
    print_new_token,
)
from synnefo.logic import users


class Command(ManageCommand):
    help = ("Modify a user. --renew-token revokes every token of the user and prints a new one "
            "once (line 'token: <token>').")

    def add_arguments(self, parser):
        parser.add_argument("user", help="the user's uniq (or numeric id)")
        parser.add_argument("--name", help="display name")
        parser.add_argument("--email", help="e-mail address ('' clears it)")
        vms = parser.add_mutually_exclusive_group()
        vms.add_argument("--max-vms", metavar="N", help="own limit of live servers")
        vms.add_argument("--default-max-vms", action="store_true",
                         help="drop the own limit: MAX_VMS_PER_USER / VMS_USER_QUOTA apply again")
        networks = parser.add_mutually_exclusive_group()
        networks.add_argument("--max-networks", metavar="N", help="own limit of private networks")
        networks.add_argument("--default-max-networks", action="store_true",
                              help="drop the own limit: MAX_NETWORKS_PER_USER / "
                                   "NETWORKS_USER_QUOTA apply again")
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--active", dest="active", action="store_const", const=True,
                           help="let the user's tokens authenticate")
        state.add_argument("--inactive", dest="active", action="store_const", const=False,
                           help="refuse every token of the user")
        staff = parser.add_mutually_exclusive_group()
        staff.add_argument("--staff", dest="staff", action="store_const", const=True,
                           help="let the user sign in to the admin web (/admin/)")
        staff.add_argument("--no-staff", dest="staff", action="store_const", const=False,
                           help="take the admin web away from the user")
        suspend = parser.add_mutually_exclusive_group()
        suspend.add_argument("--suspend", dest="suspend", action="store_const", const=True,
                             help="refuse every token of the user and suspend all its servers")
        suspend.add_argument("--unsuspend", dest="suspend", action="store_const", const=False,
                             help="undo --suspend: tokens work again, servers are released")
        parser.add_argument("--renew-token", action="store_true",
                            help="revoke all tokens of the user and print a new one")
        parser.add_argument("--token-lifetime", metavar="DAYS",
                            help="with --renew-token: days until the new token expires, "
                                 "0 = never (default: TOKEN_LIFETIME_DAYS)")

    def _changes(self, options):
        changes = {}
        if options["name"] is not None:
            changes["name"] = checked_text(options["name"], "--name", 255)
        if options["email"] is not None:
            changes["email"] = checked_email(options["email"])
        if options["max_vms"] is not None:
            changes["max_vms"] = checked_limit(options["max_vms"], "--max-vms")
        if options["default_max_vms"]:
            changes["max_vms"] = None
        if options["max_networks"] is not None:
            changes["max_networks"] = checked_limit(options["max_networks"], "--max-networks")
        if options["default_max_networks"]:
            changes["max_networks"] = None
        if options["active"] is not None:
            changes["active"] = options["active"]
        if options["staff"] is not None:
            changes["staff"] = options["staff"]
        return changes

    def handle(self, *args, **options):
        user = get_user(options["user"])
        changes = self._changes(options)
        lifetime = checked_lifetime(options["token_lifetime"])
        if lifetime is not None and not options["renew_token"]:
            raise CommandError("--token-lifetime only applies with --renew-token")
        suspend = options["suspend"]
        if suspend is not None and "active" in changes:
            raise CommandError("--suspend/--unsuspend already set the active flag: "
                               "leave out --active/--inactive")
        if not changes and not options["renew_token"] and suspend is None:
            raise CommandError("Nothing to change: give at least one option")
        if lifetime is None:
            lifetime = default_lifetime()
        with transaction.atomic():
            user, token = users.modify(user, changes,
                                       lifetime if options["renew_token"] else None)
            if suspend is not None:
                user, servers = users.set_suspended(user, suspend)
        if token is not None:
            print_new_token(self, user, token, lifetime)
            self.stdout.write("Revoked every earlier token of user %d (%s)" % (user.id, user.uniq))
        if suspend is not None:
            self.stdout.write("%s user %d (%s) and %d of its servers"
                              % ("Suspended" if suspend else "Released", user.id, user.uniq, servers))
        if changes:
            self.stdout.write("Changed %s of user %d (%s)"
                              % (", ".join(sorted(changes)), user.id, user.uniq))
