"""Reconciliation: find where the database and Ganeti disagree, and repair it.

* :mod:`.servers`: servers vs Ganeti instances (``snf-manage reconcile-servers``);
* :mod:`.networks`: networks vs Ganeti networks (``reconcile-networks``);
* :mod:`.pools`: bridge, MAC-prefix and IP pools vs what is in use (``reconcile-pools``);
* :mod:`.report`: findings, their output and the exit status;
* :mod:`.ganeti`: what one backend reports, read once per run;
* :mod:`.events`: how a repair is applied: as the Ganeti message that was lost,
  through the dispatcher's own handlers (:mod:`synnefo.logic.callbacks`, whose
  rules are :mod:`synnefo.logic.state`), plus a diagnostic on the server.

See docs/reconciliation.rst.
"""
