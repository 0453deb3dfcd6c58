"""Fixtures of the db tests: run an snf-manage command of synnefo.db in-process."""

import pytest
from django.apps import apps
from django.core.management import load_command_class
from django.db import connections


def db_snapshot():
    """Every row of every model of the db app, to prove a failed command wrote nothing."""
    return {model.__name__: sorted(model.objects.values_list(), key=repr)
            for model in apps.get_app_config("db").get_models()}


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    def __repr__(self):
        return "Result(code=%r, out=%r, err=%r)" % (self.code, self.out, self.err)


@pytest.fixture
def manage(db, monkeypatch, capsys):
    """``manage("user-add", "--uniq", "x")`` -> Result(code, out, err), as snf-manage would."""
    monkeypatch.setattr(connections, "close_all", lambda: None)

    def run(*argv):
        command = load_command_class("synnefo.db", argv[0])
        code = 0
        try:
            command.run_from_argv(["snf-manage"] + [str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return Result(code, out, err)
    return run


@pytest.fixture
def manage_fails(manage):
    """Run a command that must fail: exit != 0, one 'Error:' line, no row changed."""
    def run(*argv, match=None):
        before = db_snapshot()
        result = manage(*argv)
        assert result.code not in (0, None), result
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result
        if match is not None:
            assert match in lines[0], result
        assert db_snapshot() == before
        return lines[0]
    return run
