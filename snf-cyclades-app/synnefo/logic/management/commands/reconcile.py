"""snf-manage reconcile: the seeds' name of reconcile-servers (same options)."""

import importlib

_servers = importlib.import_module("synnefo.logic.management.commands.reconcile-servers")


class Command(_servers.Command):
    help = "Alias of reconcile-servers. " + _servers.Command.help
