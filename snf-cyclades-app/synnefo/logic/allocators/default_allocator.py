"""Default allocation strategy: the backend with the lowest load score.

score = 0.5 * cpu_load + 0.5 * (memory_used_ratio + disk_used_ratio), where
cpu_load = (pinst_cnt + 1) * 4 / (ctotal * 3) (4 vCPUs assumed per VM, at most
3 vCPUs per CPU). Backends the VM fits in are preferred; a total of zero
(stats never fetched) counts as a full resource.
"""

VCPUS_PER_VM = 4
MAX_CPU_RATIO = 3


def _ratio(free, total):
    if not total:
        return 1.0
    return 1.0 - float(free) / total


def cpu_load(backend):
    if not backend.ctotal:
        return 1.0
    return (backend.pinst_cnt + 1) * VCPUS_PER_VM / float(backend.ctotal * MAX_CPU_RATIO)


def fits(backend, vm):
    return (backend.dfree > vm["disk"] and backend.mfree > vm["ram"] and backend.ctotal > 0
            and (backend.pinst_cnt + 1) * VCPUS_PER_VM / float(backend.ctotal) < MAX_CPU_RATIO)


def score(backend):
    return 0.5 * cpu_load(backend) + 0.5 * (_ratio(backend.mfree, backend.mtotal)
                                            + _ratio(backend.dfree, backend.dtotal))


def allocate(backends, vm):
    backends = list(backends)
    if not backends:
        return None
    if len(backends) == 1:
        return backends[0]
    pool = [b for b in backends if fits(b, vm)] or backends
    return min(pool, key=lambda b: (score(b), b.id))
