"""Output of snf-manage list commands: aligned table, JSON or CSV.

Every list command calls :func:`add_output_argument` in ``add_arguments`` and
:func:`print_rows` to print; ``--output table`` (default) aligns columns,
``json`` prints a list of objects keyed by header, ``csv`` a header line and
one line per row.
"""

import csv
import json

FORMATS = ("table", "json", "csv")


def add_output_argument(parser):
    parser.add_argument("--output", "-o", choices=FORMATS, default="table",
                        help="output format (default: table)")


def _text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    return str(value)


def print_rows(stdout, headers, rows, output="table"):
    rows = [list(row) for row in rows]
    if output == "json":
        data = [{h: _jsonable(v) for h, v in zip(headers, row, strict=False)} for row in rows]
        stdout.write(json.dumps(data, indent=2) + "\n")
    elif output == "csv":
        writer = csv.writer(stdout, lineterminator="\n")
        writer.writerow(headers)
        for row in rows:
            writer.writerow([_text(v) for v in row])
    else:
        cells = [[_text(v) for v in row] for row in rows]
        widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
        line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()
        stdout.write(line + "\n")
        stdout.write("  ".join("-" * w for w in widths) + "\n")
        for row in cells:
            stdout.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)).rstrip() + "\n")


def print_object(stdout, pairs, output="table"):
    """A single object as key/value lines (``*-show`` commands)."""
    pairs = list(pairs)
    if output == "json":
        stdout.write(json.dumps({k: _jsonable(v) for k, v in pairs}, indent=2) + "\n")
    elif output == "csv":
        writer = csv.writer(stdout, lineterminator="\n")
        writer.writerow([k for k, _ in pairs])
        writer.writerow([_text(v) for _, v in pairs])
    else:
        width = max((len(k) for k, _ in pairs), default=0)
        for key, value in pairs:
            stdout.write(f"{key.ljust(width)}  {_text(value)}\n")
