"""Networks and pools: how full every IP pool, bridge pool and MAC-prefix pool is."""

from django.views.decorators.csrf import csrf_protect
from synnefo.admin import charts
from synnefo.admin.auth import staff_required
from synnefo.admin.views.common import page
from synnefo.db.models import IPPoolTable
from synnefo.logic import pools

SHARED_POOLS = (("Bridge pool", pools.BridgePool), ("MAC-prefix pool", pools.MacPrefixPool))


def _bars(title, usage):
    return [charts.bar(title + " in use", usage["used"], usage["size"]),
            charts.bar(title + " reserved", usage["reserved"], usage["size"])]


@staff_required
@csrf_protect
def network_list(request):
    shared = []
    for title, cls in SHARED_POOLS:
        for row in cls.model.objects.order_by("id"):
            pool = cls(row)
            usage = pools.usage(pool)
            shared.append({"title": "%s %d (base %s)" % (title, row.id, row.base or "-"),
                           "usage": usage, "bars": _bars(title, usage)})
    networks = []
    for row in (IPPoolTable.objects.select_related("network").filter(network__deleted=False)
                .order_by("network_id")):
        usage = pools.usage(pools.IPPool(row, row.network))
        networks.append({"network": row.network, "usage": usage,
                         "bars": _bars("IPv4 addresses", usage)})
    return page(request, "admin/networks.html", {"shared": shared, "networks": networks}, "networks")
