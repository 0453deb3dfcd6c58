"""``snf-ganeti-sim``: a one-node Ganeti cluster simulated behind the RAPI v2.

Modules, one job each:

* :mod:`.server` - command line, start-up, ``sim.json``;
* :mod:`.rapi` - HTTPS request handler: routing, auth, error bodies;
* :mod:`.requests` - RAPI request bodies -> Ganeti opcode inputs (HTTP 400s);
* :mod:`.cluster` - the cluster's objects (node, instances, networks, tags);
* :mod:`.executor` - what each opcode does to the cluster (job errors);
* :mod:`.jobs` - the job queue, its worker threads and Ganeti's job files;
* :mod:`.hooks` / :mod:`.progress` - post hooks and the OS-install progress feed;
* :mod:`.failures` - injected failures; :mod:`.certificate`, :mod:`.files`.

See ``docs/simulator.rst``.
"""
