import json

from synnefo.api import faults


def test_fault_shape():
    resp = faults.json_response(faults.ItemNotFound("Server not found."))
    assert resp.status_code == 404
    assert json.loads(resp.content) == {
        "itemNotFound": {"code": 404, "message": "Server not found.", "details": ""}}


def test_codes():
    assert faults.NetworkInUse().code == 421
    assert faults.ServiceUnavailable().name == "serviceUnavailable"


def test_from_exception():
    from synnefo.logic import errors

    f = faults.from_exception(errors.BuildInProgress("Server is being built."))
    assert (f.name, f.code, f.message) == ("buildInProgress", 409, "Server is being built.")
    f = faults.from_exception(ValueError("boom"))
    assert (f.name, f.code) == ("computeFault", 500)
