"""``POST /api/v1/<instruction>``: every instruction of the ISA over HTTP, answered
by the device, checked against the golden model run directly on the same data."""

import json
import threading
import urllib.error
import urllib.request

import pytest

from vtpu.coord import format_coord, parse_coord, parse_pattern
from vtpu.isa import AttendMode, RouteMode
from vtpu.model import Model
from vtpu.server import make_server

INTS = {"2.1.1/1.1.1/1.1.1": 5, "2.1.1/1.1.1/1.1.2": 2**64 - 1, "2.1.2/1.1.1/1.1.1": 0,
        "2.3.1/1.1.1/1.1.7": 1234}
LANES = {"3.1.1/1.1.1/1.1.1": [1, 2, 3, 4, 5, 6, 7, 8], "3.1.1/1.1.1/1.1.2": [-1, 0, 1, 0, -1, 0, 1, 0],
         "3.1.1/1.1.1/1.1.3": [8, 7, 6, 5, 4, 3, 2, 1], "3.1.1/1.1.1/1.1.4": [-128] * 8}
# CKG: person 10's father is 20 (relation 1 in component 4), 20's father is 30.
EDGES = {"10.0.0/1.0.0/0.0.0": 20, "20.0.0/1.0.0/0.0.0": 30}


def _pack(lanes):
    return sum((x & 0xFF) << (8 * i) for i, x in enumerate(lanes))


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    data = tmp_path_factory.mktemp("v1")
    srv = make_server(port=0, data=data)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]

    def call(op, method="POST", **request):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/{op}",
                                     data=json.dumps(request).encode() if method == "POST" else None,
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    reference = Model(sets=64, ways=8)
    assert call("cput", coord="1.1.1/1.1.1/1.1.1", content="a text scroll") == (200, {"status": "OK"})
    for table in (INTS, EDGES):
        for coord, value in table.items():
            assert call("cput", coord=coord, value=value)[0] == 200
            reference.cput(parse_coord(coord), value)
    for coord, lanes in LANES.items():
        assert call("cput", coord=coord, lanes=lanes)[0] == 200
        reference.cput(parse_coord(coord), _pack(lanes))
    call.reference, call.srv, call.data = reference, srv, data
    yield call
    srv.shutdown()
    srv.server_close()


def test_point_instructions(api):
    assert api("cget", coord="1.1.1/1.1.1/1.1.1") == (200, {"status": "OK", "content": "a text scroll"})
    assert api("cget", coord=[2, 1, 1, 1, 1, 1, 1, 1, 2]) == (200, {"status": "OK",
                                                                    "value": 2**64 - 1})
    assert api("cget", coord="9.9.9/9.9.9/9.9.9") == (404, {"status": "NOT_FOUND"})
    assert api("cput", coord="4.4.4/4.4.4/4.4.4", value=1)[0] == 200
    assert api("cdel", coord="4.4.4/4.4.4/4.4.4") == (200, {"status": "OK"})
    assert api("cdel", coord="4.4.4/4.4.4/4.4.4") == (404, {"status": "NOT_FOUND"})


def test_range_instructions_match_the_model(api):
    ref = api.reference
    box = "2.*.*/*.*.*/*.*.*"
    status, answer = api("crange", pattern=box)
    expect = ref.crange(parse_pattern(box))
    assert status == 200 and answer["records"] == [
        {"coord": format_coord(r["coord"]), "value": r["value"]} for r in expect.records]
    status, answer = api("cdigest", pattern=box)
    assert answer == {"status": "OK", **ref.cdigest(parse_pattern(box)).fields}
    status, answer = api("cnearest", coord="2.1.1/1.1.1/1.1.3", k=3)
    expect = ref.cnearest(parse_coord("2.1.1/1.1.1/1.1.3"), 3)
    assert [(r["coord"], r["distance"]) for r in answer["records"]] == [
        (format_coord(r["coord"]), r["distance"]) for r in expect.records]
    status, answer = api("chier", pattern="2.1.3/4.7.11/18.29.47", dir="UP")
    assert answer == {"status": "OK", "pattern": "2.1.3/4.7.11/18.29.*"}
    status, answer = api("chier", pattern="2.1.1/1.1.1/1.1.*", dir="down")
    assert [r["coord"] for r in answer["records"]] == ["2.1.1/1.1.1/1.1.1", "2.1.1/1.1.1/1.1.2"]
    keys = "3.1.1/1.1.1/1.1.*"
    for mode in ("DOT", "DISTANCE"):
        status, answer = api("cattend", coord="3.1.1/1.1.1/1.1.1", pattern=keys, k=3, mode=mode)
        expect = ref.cattend(parse_coord("3.1.1/1.1.1/1.1.1"), parse_pattern(keys), 3,
                             AttendMode[mode])
        assert status == 200 and answer["records"] == [
            {"coord": format_coord(r["coord"]), "score": r["score"]} for r in expect.records]
    # The text scroll is in the box: shown as its content, not as its handle.
    status, answer = api("crange", pattern="1.*.*/*.*.*/*.*.*")
    assert answer["records"] == [{"coord": "1.1.1/1.1.1/1.1.1", "content": "a text scroll"}]


def test_coordinate_instructions_match_the_model(api):
    ref = api.reference
    c = parse_coord("2.1.3/4.7.2/9.2.2")
    assert api("cdelta", coord="2.1.3/4.7.2/9.2.2", delta="0.0.1/0.0.0/0.0.-2") == (
        200, {"status": "OK", "coord": "2.1.4/4.7.2/9.2.0"})
    assert api("cdelta", coord="0.0.0/0.0.0/0.0.0", delta=[-1] + [0] * 8) == (422, {"status": "OVERFLOW"})
    assert api("croute", coord="2.1.3/4.7.2/9.2.2", n=7) == (
        200, {"status": "OK", "node": ref.croute(c, 7).fields["node"]})
    assert api("cmoe", coord="2.1.3/4.7.2/9.2.2", n=16) == (
        200, {"status": "OK", "expert": ref.cmoe(c, 16).fields["expert"]})
    assert api("crtset", index=0, bound="0.0.0/0.0.0/0.0.0", node=3)[0] == 200
    assert api("crtset", index=1, bound="5.0.0/0.0.0/0.0.0", node=4)[0] == 200
    ref.crtset(0, (0,) * 9, 3)
    ref.crtset(1, (5,) + (0,) * 8, 4)
    for coord in ("2.1.3/4.7.2/9.2.2", "6.0.0/0.0.0/0.0.0", "4.0.0/0.0.0/0.0.0"):
        node = ref.croute(parse_coord(coord), 2, RouteMode.RANGE).fields["node"]
        assert api("croute", coord=coord, n=2, mode="range") == (200, {"status": "OK", "node": node})
    assert api("croute", coord="6.0.0/0.0.0/0.0.0", n=2, mode="RANGE")[1]["node"] == 4


def test_ckg_follows_edges(api):
    status, answer = api("ckg", coord="10.0.0/0.0.0/0.0.0", deltas=["0.0.0/1.0.0/0.0.0"], hops=2)
    assert status == 200 and answer["records"] == [
        {"coord": "10.0.0/1.0.0/0.0.0", "value": 20}, {"coord": "20.0.0/1.0.0/0.0.0", "value": 30}]
    status, answer = api("ckg", coord="10.0.0/0.0.0/0.0.0", deltas=[[0, 0, 0, 1, 0, 0, 0, 0, 0]],
                         hops=3)
    assert status == 404 and answer["status"] == "NOT_FOUND" and len(answer["records"]) == 2


def test_bad_requests(api):
    assert api("nosuch")[0] == 404
    assert api("cget", method="GET")[0] == 405
    assert api("cnearest", coord="1.1.1/1.1.1/1.1.1", k=0) == (400, {"status": "BAD_ARG",
                                                                     "records": []})
    for request in ({"coord": "1.1.1/1.1.1"}, {"coord": 5}, {"coord": [1] * 8},
                    {"coord": "1.1.1/1.1.1/1.1.1", "k": 256}, {"coord": "1.1.1/1.1.1/1.1.1", "x": 1}):
        status, answer = api("cnearest", **request)
        assert status == 400 and "error" in answer, request
    assert api("cput", coord="1.1.1/1.1.1/1.1.1", value=1, content="x")[0] == 400
    assert api("cput", coord="1.1.1/1.1.1/1.1.1", lanes=[128] * 8)[0] == 400
    assert api("cput", coord="1.1.1/1.1.1/1.1.1", content="a\x17b")[0] == 400
    assert api("ckg", coord="1.1.1/1.1.1/1.1.1", deltas=["0.0.0/1.0.0/0.0.0"], hops=9)[0] == 400


def test_instruction_writes_are_durable(api, tmp_path):
    assert api("cput", phext="ints", coord="0.0.7/0.0.0/0.0.0", value=77)[0] == 200
    assert api("cput", phext="ints", coord="1.1.1/1.1.1/1.1.1", content="t")[0] == 200
    from vtpu.wal import read_store
    assert read_store(api.data, "ints") == {(0, 0, 7, 0, 0, 0, 0, 0, 0): 77, (1,) * 9: "t"}
