"""One phase of the chaos suite: load, fault, recovery, reconciliation, checks.

1. the load runs ``LEAD`` seconds, then the fault is injected, held for its
   window, and healed; the load goes on ``TAIL`` more seconds and pauses;
2. the checker polls the end state until nothing is left to settle (or
   ``SETTLE`` seconds), then reconciliation runs (``reconcile-servers --all
   --fix-all``, ``reconcile-networks --fix-all``, ``reconcile-pools --fix``),
   then the checker polls again until the state is consistent (or ``AFTER``
   seconds);
3. recovery time: from the end of the fault window to the first consistent
   snapshot; violations: whatever the last snapshot still shows that an
   earlier phase did not already report.
"""

import json
import time

import chaos_checks
import chaos_state
from chaos_load import SUCCESS
from chaos_report import Row, count_errors

LEAD, TAIL = 2.0, 1.5
SETTLE, AFTER = 30.0, 25.0
POLL = 0.5
RECONCILE = (("reconcile-servers", "--all", "--fix-all"), ("reconcile-networks", "--fix-all"),
             ("reconcile-pools", "--fix"))


def poll(ctx, load, prefix_id, timeout, reported):
    """Check until consistent, or until only settled findings stay for three
    polls in a row (waiting longer cannot help), or ``timeout``. Findings an
    earlier phase reported (``(kind, key)`` in ``reported``) are left out.
    ``(time consistent or None, last findings, last snapshot)``."""
    deadline = time.monotonic() + timeout
    stable = 0
    while True:
        snap = chaos_state.take(ctx.deployment, prefix_id)
        findings = [f for f in chaos_checks.check_all(snap, load.ledger.snapshot(), prefix_id)
                    if (f.kind, f.key) not in reported]
        now = time.monotonic()
        if not findings:
            return now, findings, snap
        stable = stable + 1 if not any(f.unsettled for f in findings) else 0
        if stable >= 3 or now >= deadline:
            return None, findings, snap
        time.sleep(POLL)


def reconcile(ctx):
    """Run the three reconcile commands with their fix options; the number of
    findings they fixed, and notes on failures."""
    fixed, notes = 0, []
    for args in RECONCILE:
        proc = ctx.deployment.manage(*args, "--output", "json", check=False)
        try:
            rows = json.loads(proc.stdout or "[]")
        except ValueError:
            rows = []
            notes.append(f"{args[0]}: unreadable output {proc.stdout[-200:]!r}")
        fixed += sum(1 for r in rows if r.get("result") == "fixed")
        for r in rows:
            ctx.log(f"  {args[0]}: {r.get('kind')} {r.get('object')}: {r.get('result')} "
                    f"({r.get('details')})")
        if proc.returncode not in (0, 1):
            notes.append(f"{args[0]} exited {proc.returncode}: "
                         f"{(proc.stderr or proc.stdout).strip()[-300:]}")
    return fixed, notes


def run_phase(ctx, load, fault, stack, tag, prefix_id, reported):
    """Run ``fault`` under load; its :class:`Row`. ``reported``: the findings
    (``(kind, key)``) and ERROR servers of earlier phases (updated)."""
    ctx.log(f"== {fault.name} ({stack})")
    load.resume(tag)
    time.sleep(LEAD)
    fault_start = time.monotonic()
    fault.inject(ctx)
    time.sleep(fault.hold)
    fault.heal(ctx)
    fault_end = time.monotonic()
    time.sleep(TAIL)
    load.hold()
    # Every request that overlaps the fault window or the tail after it.
    requests = [r for r in load.ledger.snapshot() if r.phase == tag and r.end >= fault_start]
    row = Row(stack=stack, fault=fault.name, requests=len(requests),
              errors=dict(count_errors(requests, lambda r: r.outcome == SUCCESS[r.op])))
    ctx.log(f"  fault window {fault_end - fault_start:.1f} s, {len(requests)} requests, "
            f"errors {row.errors or 'none'}")

    consistent, findings, _ = poll(ctx, load, prefix_id, SETTLE, reported)
    ctx.log(f"  before reconciliation: {'consistent' if consistent else f'{len(findings)} finding(s)'}")
    for finding in findings:
        ctx.log(f"    {finding.kind}: {finding.text}")
    row.repairs, notes = reconcile(ctx)
    after, findings, snap = poll(ctx, load, prefix_id, AFTER, reported)
    consistent = consistent or after
    row.recovery = None if consistent is None else consistent - fault_end
    in_error = {("ERROR", sid) for sid, s in snap.servers.items() if s["state"] == "ERROR"}
    row.error_servers = len(in_error - reported)  # new ones: the load deletes them later
    reported.update(in_error)
    reported.update((f.kind, f.key) for f in findings)
    row.violations = notes + [f"{f.kind}: {f.text}" for f in findings]
    ctx.log(f"  recovery {'never' if row.recovery is None else round(row.recovery, 1)} s, "
            f"{row.repairs} repair(s), {len(snap.dead_letters)} dead letter(s) in all, "
            f"{len(row.violations)} violation(s)")
    for text in row.violations:
        ctx.log(f"    VIOLATION {text}")
    return row
