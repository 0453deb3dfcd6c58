"""Output of the list/show commands: aligned table, JSON, CSV."""

import csv
import io
import json

import pytest
from synnefo.webproject.management.output import FORMATS, add_output_argument, print_object, print_rows

HEADERS = ["id", "name", "active", "note"]
ROWS = [(1, "alice", True, None), (22, "bob, jr.", False, "x")]


def render(function, *args):
    out = io.StringIO()
    function(out, *args)
    return out.getvalue()


def test_table_columns_are_aligned_under_their_headers():
    lines = render(print_rows, HEADERS, ROWS, "table").splitlines()
    assert lines[0].split() == HEADERS
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split() == ["1", "alice", "yes"]
    start = lines[0].index("name")
    assert lines[2][start:].startswith("alice")
    assert lines[3][start:].startswith("bob, jr.")
    assert lines[3][lines[0].index("active"):].startswith("no")
    assert all(line == line.rstrip() for line in lines)


def test_json_is_a_list_of_objects_keyed_by_header():
    data = json.loads(render(print_rows, HEADERS, ROWS, "json"))
    assert data == [{"id": 1, "name": "alice", "active": True, "note": None},
                    {"id": 22, "name": "bob, jr.", "active": False, "note": "x"}]


def test_csv_quotes_commas_and_has_a_header():
    rows = list(csv.reader(io.StringIO(render(print_rows, HEADERS, ROWS, "csv"))))
    assert rows == [HEADERS, ["1", "alice", "yes", ""], ["22", "bob, jr.", "no", "x"]]


def test_empty_table_still_has_headers():
    assert render(print_rows, HEADERS, [], "table").splitlines()[0].split() == HEADERS
    assert json.loads(render(print_rows, HEADERS, [], "json")) == []


def test_show_object_in_every_format():
    pairs = [("id", 7), ("name", "web1"), ("deleted", False)]
    table = render(print_object, pairs, "table").splitlines()
    assert table == ["id       7", "name     web1", "deleted  no"]
    assert json.loads(render(print_object, pairs, "json")) == {"id": 7, "name": "web1", "deleted": False}
    assert list(csv.reader(io.StringIO(render(print_object, pairs, "csv")))) == [
        ["id", "name", "deleted"], ["7", "web1", "no"]]


def test_output_argument_accepts_only_known_formats():
    import argparse
    parser = argparse.ArgumentParser()
    add_output_argument(parser)
    assert parser.parse_args([]).output == "table"
    for fmt in FORMATS:
        assert parser.parse_args(["--output", fmt]).output == fmt
    with pytest.raises(SystemExit):
        parser.parse_args(["--output", "xml"])
