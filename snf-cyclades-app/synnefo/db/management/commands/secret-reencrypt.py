"""snf-manage secret-reencrypt: encrypt every stored secret again with the current key."""

from django.core.management.base import CommandError
from django.db import transaction
from synnefo.db import secrets
from synnefo.db.management.common import ManageCommand
from synnefo.db.models import Backend, IdempotencyKey


class Command(ManageCommand):
    help = ("Encrypt every stored secret (the RAPI passwords of backends, the adminPass kept with an "
            "idempotency key) again with the first key "
            "of SECRET_ENCRYPTION_KEY and the current key stretching. To rotate: put the new key "
            "first in the list, keep the old ones after it, restart the API and the dispatchers, "
            "run this command, then remove the old keys. All or nothing: a backend password that no "
            "key decrypts stops the command before anything is written; an adminPass that no key "
            "decrypts is dropped (a replayed create then answers without it).")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true",
                            help="only say how many secrets would be re-encrypted")

    def handle(self, *args, **options):
        done = current = 0
        with transaction.atomic():
            for backend in Backend.objects.select_for_update().exclude(
                    password_encrypted=None).order_by("pk"):
                if secrets.is_current(backend.password_encrypted):
                    current += 1
                    continue
                try:
                    value = secrets.encrypt(backend.password)
                except secrets.SecretError as exc:
                    raise CommandError("%s; nothing was re-encrypted" % exc) from None
                if not options["dry_run"]:
                    # a queryset update: the ciphertext changes, the connection
                    # settings do not (the backend's hash stamp stays)
                    Backend.objects.filter(pk=backend.pk).update(password_encrypted=value)
                done += 1
            replay_done, replay_current, dropped = self.reencrypt_replays(options["dry_run"])
            done, current = done + replay_done, current + replay_current
        if dropped:
            self.stdout.write("%d adminPass(es) of idempotency keys that no key decrypts %s"
                              % (dropped, "to drop" if options["dry_run"] else "dropped"))
        self.stdout.write("%d secret(s) %s, %d already encrypted with the current key"
                          % (done, "to re-encrypt" if options["dry_run"] else "re-encrypted",
                             current))

    def reencrypt_replays(self, dry_run):
        """The adminPass kept with idempotency keys: ``(re-encrypted, current, dropped)``."""
        done = current = dropped = 0
        for row in IdempotencyKey.objects.select_for_update().exclude(secret="").order_by("pk"):
            if secrets.is_current(row.secret):
                current += 1
                continue
            try:
                value = secrets.encrypt(secrets.decrypt(row.secret))
            except secrets.SecretError:
                value, dropped = "", dropped + 1
            else:
                done += 1
            if not dry_run:
                IdempotencyKey.objects.filter(pk=row.pk).update(secret=value)
        return done, current, dropped
