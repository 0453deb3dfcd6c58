"""Figures for the inline SVG bar charts of the admin pages (template
``admin/_bar.html``): no script, no library, readable without colours."""

WIDTH = 300  # the SVG's viewBox width; the bar scales with the page


def bar(label, used, total, unit=""):
    """One horizontal bar: ``used`` of ``total``, with its text for screen readers."""
    used = max(0, int(used or 0))
    total = max(0, int(total or 0))
    share = (used / total) if total else 0.0
    share = min(share, 1.0)
    percent = round(share * 100)
    text = "%s: %s of %s%s (%d%%)" % (label, _n(used), _n(total), unit, percent)
    return {"label": label, "used": used, "total": total, "unit": unit, "percent": percent,
            "width": round(share * WIDTH, 1), "full": WIDTH, "text": text,
            "level": "high" if percent >= 90 else ("mid" if percent >= 70 else "low")}


def count_bar(label, value, most, unit=""):
    """A bar for a count without a capacity (CPUs, servers): scaled to ``most``,
    the largest value among its neighbours."""
    item = bar(label, value, most, unit)
    item["text"] = "%s: %s%s" % (label, _n(value), unit)
    item["level"] = "count"
    return item


def _n(value):
    return f"{int(value):,}"
