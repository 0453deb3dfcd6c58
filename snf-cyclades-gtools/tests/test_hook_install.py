"""snf-ganeti-hook-install: links under valid names, nothing half-done, --remove."""

import os

import pytest
from synnefo.ganeti import hook_install


@pytest.fixture
def target(tmp_path):
    path = tmp_path / "snf-ganeti-hook"
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


def test_links_every_post_directory(tmp_path, target, capsys):
    hooks = tmp_path / "hooks"
    assert hook_install.main(["--hooks-dir", str(hooks), "--target", target]) == 0
    for op in ("add", "modify", "reboot", "start", "stop"):
        link = hooks / ("instance-%s-post.d" % op) / "00-snf-ganeti-hook"
        assert os.readlink(link) == target
    assert capsys.readouterr().out.count("linked ") == 5
    # again: nothing changes, still success
    assert hook_install.main(["--hooks-dir", str(hooks), "--target", target]) == 0


@pytest.mark.parametrize("name", ["hook.py", "00 hook", "", "a/b"])
def test_a_name_ganeti_would_skip_is_refused(tmp_path, target, capsys, name):
    assert hook_install.main(["--hooks-dir", str(tmp_path), "--target", target, "--name", name]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "^[a-zA-Z0-9_-]+$" in err
    assert not any(tmp_path.glob("instance-*"))


def test_an_other_file_is_left_alone_unless_forced(tmp_path, target, capsys):
    busy = tmp_path / "instance-stop-post.d"
    busy.mkdir()
    (busy / "00-snf-ganeti-hook").write_text("someone else's")
    assert hook_install.main(["--hooks-dir", str(tmp_path), "--target", target]) == 1
    assert "--force" in capsys.readouterr().err
    assert not (tmp_path / "instance-add-post.d").exists()   # nothing half-done
    assert hook_install.main(["--hooks-dir", str(tmp_path), "--target", target, "--force"]) == 0
    assert os.readlink(busy / "00-snf-ganeti-hook") == target


def test_remove_takes_only_our_links(tmp_path, target):
    hook_install.main(["--hooks-dir", str(tmp_path), "--target", target])
    other = tmp_path / "instance-add-post.d" / "10-other"
    other.symlink_to("/bin/true")
    assert hook_install.main(["--hooks-dir", str(tmp_path), "--target", target, "--remove"]) == 0
    assert not list(tmp_path.glob("instance-*-post.d/00-snf-ganeti-hook"))
    assert other.is_symlink()


def test_a_target_that_is_not_executable_is_refused(tmp_path, capsys):
    assert hook_install.main(["--hooks-dir", str(tmp_path), "--target", str(tmp_path / "nope")]) == 1
    assert "not an executable" in capsys.readouterr().err
