"""The staggered reconciliation's systemd units agree with each other and with the command."""

import configparser
import pathlib
import shlex

ROOT = pathlib.Path(__file__).resolve().parent.parent
UNITS = ROOT / "systemd"


def unit(name):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(UNITS / name)
    return parser


def test_timer_period_is_the_commands_interval():
    timer = unit("snf-reconcile-servers.timer")
    service = unit("snf-reconcile-servers.service")
    period = timer["Timer"]["OnUnitActiveSec"]
    assert period.endswith("min")
    argv = shlex.split(service["Service"]["ExecStart"])
    assert argv[1] == "reconcile-servers" and "--all" not in argv
    assert argv[argv.index("--interval") + 1] == period[:-3]
    assert "--fix-all" in argv and "--fix-orphans" not in argv
    assert service["Service"]["Type"] == "oneshot"
    assert timer["Install"]["WantedBy"] == "timers.target"
