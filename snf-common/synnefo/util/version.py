"""The release number of the tree, as every command prints it with ``--version``.

All packages of the tree carry one version (the top-level ``VERSION`` file; a
test checks every ``pyproject.toml`` and ``debian/changelog`` against it), so a
command prints the version of the distribution it belongs to.
"""


def distribution_version(distribution):
    # importlib.metadata costs about 25 ms to import: only when the version is
    # asked (print_version_if_asked runs at every start of the hook and the
    # progress monitor, once per Ganeti job)
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown (%s is not installed)" % distribution


def version_line(prog, distribution):
    return "%s %s" % (prog, distribution_version(distribution))


def add_version_option(parser, prog, distribution):
    """``--version`` on an argparse parser: print ``PROG VERSION`` and exit 0."""
    parser.add_argument("--version", action="version", version=version_line(prog, distribution),
                        help="print the version and exit")


def print_version_if_asked(argv, prog, distribution):
    """For commands without argparse: ``--version`` as the only argument prints and exits 0."""
    if list(argv) == ["--version"]:
        print(version_line(prog, distribution))
        raise SystemExit(0)
