"""The admin web (``/admin/``): staff look across backends, servers, users,
networks and the update path, and act through the logic layer (the same
functions snf-manage calls). Every action is written to the audit log."""
