"""The golden model on its own: directed tests per instruction and status,
property tests against brute force, and the frame path."""

import random
import struct

from hypothesis import given, settings, strategies as st

from test_hash import h3_by_parity
from test_model_zindex import distance, in_box, zkey
from vtpu.coord import Pattern, parse_coord as c, parse_pattern as p
from vtpu.frame import command_frame, encode_command, parse_responses
from vtpu.hash import h3_rows
from vtpu.isa import DIGEST_SEED, DIMS, MAX_HOPS, ROUTE_ENTRIES, AttendMode, Op, Status, crc8
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

# Every reference here is written without the model's helpers: Z-order, box test
# and L1 are tests/test_model_zindex.py's brute force (a bit-string Morton key, plain
# comparisons, plain sums), int8 lanes come from ``struct``, and the CDIGEST hash
# is the H3 parity definition over the spec's rows. Instructions go through
# frames at the hardware's widths; patterns carry wildcards whose lo/hi are junk.

TOP = 2**16 - 1
component = st.one_of(st.integers(0, 3), st.integers(0, TOP))   # small: long shared prefixes


def lanes_value(lanes):
    return int.from_bytes(struct.pack("<8b", *lanes), "little")


def value_lanes(value):
    return struct.unpack("<8b", value.to_bytes(8, "little"))


# Values of mostly-zero lanes (CATTEND DOT scores tie; -128 and 127 test the
# sign), or any 64 bits.
lane = st.sampled_from([0, 0, 0, 0, 1, -1, 2, -128, 127])
any_values = st.one_of(st.lists(lane, min_size=8, max_size=8).map(lanes_value), values)


@st.composite
def scenes(draw):
    """(model, stored entries, pattern, query). Keys form a cluster (a base
    coordinate, anywhere, plus 0..3 on a few components) with strays; the
    pattern and the query sit around a stored key or anywhere, so that boxes
    hold several keys and distances tie."""
    base = draw(st.tuples(*[component] * DIMS))
    varying = draw(st.sets(st.integers(0, DIMS - 1), min_size=1, max_size=4))
    clustered = st.tuples(*[st.integers(0, 3) if d in varying else st.just(0) for d in range(DIMS)]) \
        .map(lambda offset: tuple(min(TOP, b + o) for b, o in zip(base, offset)))
    keys = st.one_of(clustered, clustered, clustered, st.tuples(*[component] * DIMS))
    m = Model(sets=64, ways=8)
    stored = {}
    size = draw(st.integers(0, 30))
    for key, value in draw(st.lists(st.tuples(keys, any_values), min_size=size, max_size=size)):
        if m.cput(key, value).ok:
            stored[key] = value
    near = draw(st.sampled_from(sorted(stored))) if stored and draw(st.booleans()) else \
        draw(st.one_of(clustered, st.tuples(*[component] * DIMS)))
    lo, hi, mask = [], [], 0
    for d, a in enumerate(near):
        kind = draw(st.sampled_from("**=[["))
        if kind == "*":                     # any lo/hi, lo > hi included: ignored
            mask |= 1 << d
            lo.append(draw(component))
            hi.append(draw(component))
        elif kind == "=":
            lo.append(a)
            hi.append(a)
        else:
            lo.append(max(0, a - draw(st.integers(0, 3))))
            hi.append(min(TOP, a + draw(st.integers(0, 3))))
    return m, stored, Pattern(tuple(lo), tuple(hi), mask), near


def ask(m, op, **fields):
    """One instruction through frames: (final status, records, final fields)."""
    *records, final = m.request(op, 7, **fields)
    assert all(r.more for r in records) and not final.more
    return final.status, [r.fields(op) for r in records], final.fields(op)


def box_hits(stored, pattern):
    """Stored keys inside the pattern, ascending Z-order."""
    lo = [0 if pattern.mask >> d & 1 else pattern.lo[d] for d in range(DIMS)]
    hi = [TOP if pattern.mask >> d & 1 else pattern.hi[d] for d in range(DIMS)]
    return sorted((c for c in stored if in_box(c, lo, hi)), key=lambda c: zkey(c, 16))


@settings(max_examples=80, deadline=None)
@given(scenes())
def test_crange_and_chier_down_are_the_box_in_z_order(scene):
    m, stored, pattern, _ = scene
    want = [{"coord": c, "value": stored[c]} for c in box_hits(stored, pattern)]
    assert ask(m, Op.CRANGE, pattern=pattern) == (Status.OK, want, {"count": len(want)})
    assert ask(m, Op.CHIER, pattern=pattern, dir=1) == (Status.OK, want, {"count": len(want)})


def digest_reference(coord, value):
    """H3 by its definition: output bit j is the parity of key & row j, where the
    key is the CRANGE record's bytes read little-endian (coordinate, then value)."""
    key = int.from_bytes(struct.pack("<9H", *coord) + struct.pack("<Q", value), "little")
    return h3_by_parity(key, h3_rows(DIGEST_SEED, DIMS * 16 + 64, 64))


@settings(max_examples=60, deadline=None)
@given(scenes())
def test_cdigest_is_the_sum_of_h3_parities_over_the_box(scene):
    m, stored, pattern, _ = scene
    hits = box_hits(stored, pattern)
    digest = sum(digest_reference(c, stored[c]) for c in hits) % 2**64
    assert ask(m, Op.CDIGEST, pattern=pattern) == (Status.OK, [], {"count": len(hits),
                                                                  "digest": digest})


@settings(max_examples=80, deadline=None)
@given(scenes(), st.integers(1, 40))
def test_cnearest_ranks_by_l1_then_z_order(scene, k):
    m, stored, _, q = scene
    ranked = sorted(stored, key=lambda c: (distance(q, c), zkey(c, 16)))[:k]
    want = [{"coord": c, "value": stored[c], "distance": distance(q, c)} for c in ranked]
    assert ask(m, Op.CNEAREST, coord=q, k=k) == (Status.OK, want, {"count": len(want)})


@settings(max_examples=80, deadline=None)
@given(scenes(), st.integers(1, 40), st.sampled_from(AttendMode))
def test_cattend_ranks_the_box_by_score_then_z_order(scene, k, mode):
    m, stored, pattern, q = scene
    if mode == AttendMode.DOT:
        if q not in stored:
            assert ask(m, Op.CATTEND, coord=q, pattern=pattern, k=k, mode=mode) == \
                (Status.NOT_FOUND, [], {"count": 0})
            return
        query = value_lanes(stored[q])
        score = {c: sum(a * b for a, b in zip(query, value_lanes(stored[c]))) for c in stored}
    else:
        score = {c: -distance(q, c) for c in stored}
    ranked = sorted(box_hits(stored, pattern), key=lambda c: (-score[c], zkey(c, 16)))[:k]
    want = [{"coord": c, "score": score[c]} for c in ranked]
    assert ask(m, Op.CATTEND, coord=q, pattern=pattern, k=k, mode=mode) == \
        (Status.OK, want, {"count": len(want)})


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
