"""snf-burnin: an acceptance test of a live Cyclades deployment, through the
public API only, on :mod:`synnefo.tools.client`.

Modules: ``options`` (the command line), ``runner`` (cases, steps, fail-fast,
interruption), ``catalog`` (images, flavors, lists, auth), ``lifecycle`` (a
server's life), ``networking`` (private networks), ``guest`` (checks inside
the VMs), ``cleanup`` (this run's and stale resources), ``report`` (terminal,
JSON, JUnit), ``cron`` (``snf-burnin-cron``), ``main`` (``snf-burnin``).
"""
