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


def test_logic_error_keeps_message_and_maps_every_class():
    from synnefo.logic import errors

    for cls, name, code in [(errors.BadRequest, "badRequest", 400), (errors.Forbidden, "forbidden", 403),
                            (errors.ItemNotFound, "itemNotFound", 404), (errors.OverLimit, "overLimit", 413),
                            (errors.NetworkInUse, "networkInUse", 421),
                            (errors.ServiceUnavailable, "serviceUnavailable", 503)]:
        f = faults.from_exception(cls("why"))
        assert (f.name, f.code, f.message) == (name, code, "why")
    api_fault = faults.OverLimit("x")
    assert faults.from_exception(api_fault) is api_fault


def test_every_documented_fault_class():
    expected = {"BadRequest": 400, "Unauthorized": 401, "Forbidden": 403, "ItemNotFound": 404,
                "BuildInProgress": 409, "OverLimit": 413, "BadMediaType": 415, "NetworkInUse": 421,
                "ServiceUnavailable": 503}
    for cls_name, code in expected.items():
        fault = getattr(faults, cls_name)("m")
        assert fault.code == code and fault.name == cls_name[0].lower() + cls_name[1:]
        assert faults.fault_body(fault)[fault.name] == {"code": code, "message": "m", "details": ""}
