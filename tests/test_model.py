"""The golden model on its own: directed tests per instruction and status,
property tests against brute force, and the frame path."""

import random

from hypothesis import given, settings, strategies as st

from vtpu.coord import Pattern, in_box, l1, morton, parse_coord as c, parse_pattern as p
from vtpu.frame import command_frame, encode_command, parse_responses
from vtpu.isa import DIMS, MAX_HOPS, ROUTE_ENTRIES, Op, Status, crc8
from vtpu.model import ALL_OPS, Model

A = c("2.1.3/4.7.11/18.29.47")
ALL = p("*.*.*/*.*.*/*.*.*")

small = st.integers(min_value=0, max_value=7)
coords = st.tuples(*[small] * DIMS)
values = st.integers(min_value=0, max_value=2**64 - 1)


def filled(n=40, seed=1, **kw):
    m = Model(**kw)
    rng = random.Random(seed)
    for _ in range(n):
        m.cput(tuple(rng.randrange(1, 5) for _ in range(DIMS)), rng.getrandbits(64))
    return m


# --- every status of every instruction ----------------------------------------

def test_cget_cput_cdel_statuses():
    m = Model(sets=1, ways=2)
    assert m.cget(A).status == Status.NOT_FOUND
    assert m.cput(A, 1).status == Status.OK
    assert m.cput(A, 2).status == Status.OK            # overwrite
    assert m.cget(A).fields == {"value": 2}
    assert m.cput(c("1.1.1/1.1.1/1.1.1"), 3).ok
    assert m.cput(c("1.1.1/1.1.1/1.1.2"), 4).status == Status.TABLE_FULL
    assert m.cput(A, 5).ok                            # overwrite in a full set still works
    assert m.cput(A, 2**64).status == Status.BAD_ARG
    assert m.cdel(A).ok and m.cdel(A).status == Status.NOT_FOUND
    assert m.cput(c("1.1.1/1.1.1/1.1.2"), 4).ok         # the slot is free again


def test_table_full_loses_nothing():
    m = Model(sets=4, ways=2)
    stored = {}
    rng = random.Random(7)
    for _ in range(200):
        key = tuple(rng.randrange(1, 4) for _ in range(DIMS))
        value = rng.getrandbits(64)
        status = m.cput(key, value).status
        if status == Status.OK:
            stored[key] = value
        else:
            assert status == Status.TABLE_FULL and key not in stored
    assert len(stored) == m.capacity                 # every slot ends up used
    assert all(m.cget(k).fields["value"] == v for k, v in stored.items())
    assert m.data == stored


def test_sentrons_split_the_table():
    m = Model(sets=2, ways=1, sentrons=4)
    assert m.capacity == 8
    owners = {m.locate(tuple(i for _ in range(DIMS))) for i in range(64)}
    assert {s for s, _ in owners} == {0, 1, 2, 3}


def test_cdelta():
    assert m_ok(Model().cdelta(A, (1, 0, 0, 0, 0, 0, 0, 0, -47)), coord=c("3.1.3/4.7.11/18.29.0"))
    assert Model().cdelta(A, (0,) * 8 + (-48,)).status == Status.OVERFLOW
    assert Model().cdelta(c("0.0.0/0.0.0/0.0.65535"), (0,) * 8 + (1,)).status == Status.OVERFLOW


def m_ok(result, **fields):
    return result.status == Status.OK and result.fields == fields


def test_chier():
    m = Model()
    assert str(m.chier(p("2.1.3/4.7.11/18.*.*"), 0)) == "OK pattern=2.1.3/4.7.11/*.*.*"
    assert str(m.chier(p("2.1.3/4.7.[1:9]/*.*.*"), 0)) == "OK pattern=2.1.3/4.7.*/*.*.*"
    assert m.chier(ALL, 0).status == Status.BAD_ARG
    assert m.chier(A_pattern(), 2).status == Status.BAD_ARG
    assert m.chier(Pattern((5,) * 9, (4,) * 9, 0), 1).status == Status.BAD_ARG


def A_pattern():
    return Pattern.exact(A)


def test_croute_modes():
    m = Model()
    nodes = {m.croute(tuple(i for _ in range(DIMS)), 7).fields["node"] for i in range(200)}
    assert nodes == set(range(7))
    assert m.croute(A, 0).status == Status.BAD_ARG
    assert m.croute(A, ROUTE_ENTRIES + 1, 1).status == Status.BAD_ARG
    assert m.croute(A, 3, 9).status == Status.BAD_ARG
    assert m.crtset(ROUTE_ENTRIES, A, 1).status == Status.BAD_ARG
    assert m.crtset(0, c("0.0.0/0.0.0/0.0.5"), 4).ok
    assert m.croute(c("0.0.0/0.0.0/0.0.4"), 1, 1).status == Status.NOT_FOUND
    assert m_ok(m.croute(c("0.0.0/0.0.0/0.0.5"), 1, 1), node=4)


def test_cmoe_uniform():
    m = Model()
    counts = [0] * 8
    for i in range(4000):
        counts[m.cmoe((i % 13, i % 7, i // 91, 1, 1, 1, 1, 1, 1), 8).fields["expert"]] += 1
    assert min(counts) > 350 and max(counts) < 650
    assert m.cmoe(A, 0).status == Status.BAD_ARG


def test_cnearest_and_cattend_arguments():
    m = filled()
    assert m.cnearest(A, 0).status == Status.BAD_ARG
    assert m.cattend(A, ALL, 0).status == Status.BAD_ARG
    assert m.cattend(A, ALL, 1, 5).status == Status.BAD_ARG
    assert m.cattend(c("9.9.9/9.9.9/9.9.9"), ALL, 1).status == Status.NOT_FOUND
    assert len(m.cnearest(A, 200).records) == len(m.data)


def test_ckg_statuses():
    m = Model()
    m.cput(c("1.5.0/1.0.0/0.0.0"), 70000)            # a value that is no component
    step = (0, 0, 0, 1, 0, 0, 0, 0, 0)
    r = m.ckg(c("1.5.0/0.0.0/0.0.0"), 1, [step, step])
    assert r.status == Status.OVERFLOW and len(r.records) == 1
    assert m.ckg(A, 1, [(0,) * 8 + (-100,)]).status == Status.OVERFLOW
    assert m.ckg(A, DIMS, [step]).status == Status.BAD_ARG
    assert m.ckg(A, 1, []).status == Status.BAD_ARG
    assert m.ckg(A, 1, [step] * (MAX_HOPS + 1)).status == Status.BAD_ARG


def test_bad_patterns():
    m = filled()
    bad = Pattern((3,) * 9, (2,) * 9, 0)
    for op in (m.crange, m.cdigest):
        assert op(bad).status == Status.BAD_ARG
    assert m.crange(Pattern((0,) * 9, (9,) * 9, 1 << DIMS)).status == Status.BAD_ARG
    # A wildcard component's lo/hi are ignored, even when lo > hi.
    assert m.crange(Pattern((9,) + (0,) * 8, (0,) + (9,) * 8, 1)).records == m.crange(ALL).records


# --- properties against brute force -------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(coords, values), max_size=40), coords, coords)
def test_crange_is_box_filter_in_z_order(entries, a, b):
    m = Model(sets=64, ways=8)
    for key, value in entries:
        m.cput(key, value)
    lo, hi = tuple(map(min, a, b)), tuple(map(max, a, b))
    got = [(r["coord"], r["value"]) for r in m.crange(Pattern(lo, hi, 0)).records]
    want = sorted(((k, v) for k, v in m.data.items() if in_box(k, lo, hi)), key=lambda kv: morton(kv[0]))
    assert got == want


@settings(max_examples=60, deadline=None)
@given(st.lists(coords, max_size=30, unique=True), coords, st.integers(min_value=1, max_value=10))
def test_cnearest_brute_force(keys, q, k):
    m = Model(sets=64, ways=8)
    for key in keys:
        m.cput(key, 1)
    got = [r["coord"] for r in m.cnearest(q, k).records]
    want = sorted(keys, key=lambda key: (l1(q, key), morton(key)))[:k]
    assert got == want


@settings(max_examples=60, deadline=None)
@given(coords, st.tuples(*[st.integers(min_value=-9, max_value=9)] * DIMS))
def test_cdelta_overflow_iff_out_of_range(base, delta):
    result = Model(width=16).cdelta(base, delta)
    inside = all(0 <= b + d <= 65535 for b, d in zip(base, delta))
    assert (result.status == Status.OK) == inside


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(coords, values, max_size=20), st.randoms(use_true_random=False))
def test_cdigest_order_independent(entries, rng):
    items = list(entries.items())
    x, y = Model(sets=64, ways=8), Model(sets=64, ways=8)
    for key, value in items:
        x.cput(key, value)
    rng.shuffle(items)
    for key, value in items:
        y.cput(key, value)
    assert x.cdigest(ALL).fields == y.cdigest(ALL).fields
    assert x.cdigest(ALL).fields["count"] == len(entries)


# --- the frame path -----------------------------------------------------------------

def test_frame_statuses():
    m = Model(ops=ALL_OPS - {Op.CKG})
    frames = m.execute(command_frame(Op.CKG, 1, coord=A, entity=1, hops=1, deltas=[(0,) * 9]))
    assert parse_responses(frames)[0].status == Status.BAD_OPCODE
    assert parse_responses(m.execute(encode_command(0x7F, 2, b"")))[0].status == Status.BAD_OPCODE
    bad_len = encode_command(Op.CGET, 3, b"\x00" * 5)
    assert [(r.status, r.tag) for r in parse_responses(m.execute(bad_len))] == [(Status.BAD_FRAME, 3)]
    corrupt = bytearray(command_frame(Op.CGET, 4, coord=A))
    corrupt[6] ^= 1
    assert parse_responses(m.execute(bytes(corrupt)))[0].status == Status.BAD_FRAME
    # CKG whose hops field disagrees with its length: BAD_ARG, final count 0.
    frame = command_frame(Op.CKG, 5, coord=A, entity=1, hops=1, deltas=[(0,) * 9])
    body = bytearray(frame)
    body[4 + 18 + 1] = 2
    body[-1] = crc8(body[1:-1])
    (answer,) = parse_responses(Model().execute(bytes(body)))
    assert answer.status == Status.BAD_ARG and answer.fields(Op.CKG) == {"count": 0}


def test_frames_match_methods():
    """request() through frames gives what the methods give."""
    m, ref = filled(seed=3), filled(seed=3)
    answers = m.request(Op.CRANGE, 9, pattern=p("1.*.*/*.*.*/*.*.*"))
    records = [a.fields(Op.CRANGE) for a in answers[:-1]]
    assert all(a.more and a.tag == 9 for a in answers[:-1])
    assert records == ref.crange(p("1.*.*/*.*.*/*.*.*")).records
    assert answers[-1].fields(Op.CRANGE) == {"count": len(records)}
    assert m.request(Op.CHIER, 1, pattern=A_pattern(), dir=0)[0].fields(Op.CHIER)["pattern"] \
        == ref.chier(A_pattern(), 0).fields["pattern"]
    assert m.request(Op.CDIGEST, 1, pattern=ALL)[0].fields(Op.CDIGEST) == ref.cdigest(ALL).fields


def test_execute_is_resumable_byte_by_byte():
    stream = b"".join(command_frame(Op.CPUT, i, coord=(i,) * 9, value=i) for i in range(5))
    whole, split = Model(), Model()
    out = b"".join(split.execute(bytes([b])) for b in stream)
    assert out == whole.execute(stream)
