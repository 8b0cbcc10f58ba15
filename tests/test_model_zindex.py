"""The Z-order index (vtpu.zindex) and the model's range instructions, against
a brute force written here: its own Morton key, box test and L1 distance."""

import random

from hypothesis import given, settings, strategies as st

from vtpu.coord import Pattern
from vtpu.hash import digest_hash
from vtpu.isa import DIMS, AttendMode
from vtpu.model import Model
from vtpu.zindex import ZIndex


# --- the brute force ----------------------------------------------------------------

def zkey(coord, width):
    """Morton key from bit strings: bit levels from the top, and within a
    level component 0 first (the most significant), as docs/isa.md says."""
    bits = [format(c, f"0{width}b") for c in coord]
    return int("".join(bits[d][level] for level in range(width) for d in range(DIMS)), 2)


def in_box(coord, lo, hi):
    for c, l, h in zip(coord, lo, hi):
        if c < l or c > h:
            return False
    return True


def distance(a, b):
    total = 0
    for x, y in zip(a, b):
        total += x - y if x > y else y - x
    return total


def brute_inside(stored, lo, hi, width):
    return sorted((c for c in stored if in_box(c, lo, hi)), key=lambda c: zkey(c, width))


def brute_nearest(stored, q, k, width):
    return sorted(stored, key=lambda c: (distance(q, c), zkey(c, width)))[:k]


# --- strategies: small widths and small values, so keys share long prefixes ----------

def coords(width):
    top = 2**width - 1
    return st.tuples(*[st.one_of(st.integers(0, 3), st.integers(0, top))] * DIMS)


def boxes(width):
    """(lo, hi): per component a wildcard (the whole range) or a range [a:b]."""
    top = 2**width - 1
    component = st.one_of(st.just((0, top)),
                          st.tuples(st.integers(0, top), st.integers(0, top)).map(sorted),
                          st.tuples(st.integers(0, 3), st.integers(0, 3)).map(sorted))
    return st.tuples(*[component] * DIMS).map(lambda parts: tuple(zip(*parts)))


@st.composite
def scripts(draw):
    """A width and a list of steps: toggle a coordinate (insert it, or remove it
    if stored), ask for a box, ask for the k nearest."""
    width = draw(st.sampled_from([4, 4, 8, 16]))
    step = st.one_of(st.tuples(st.just("toggle"), coords(width)),
                     st.tuples(st.just("inside"), boxes(width)),
                     st.tuples(st.just("nearest"), coords(width), st.integers(1, 50)))
    return width, draw(st.lists(step, max_size=80))


# --- the index -------------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(scripts())
def test_index_matches_brute_force(script):
    width, steps = script
    index, stored = ZIndex(width), set()
    for step in steps:
        if step[0] == "toggle":
            coord = step[1]
            if coord in stored:
                index.remove(coord)
                stored.remove(coord)
            else:
                index.insert(coord)
                stored.add(coord)
        elif step[0] == "inside":
            lo, hi = step[1]
            assert list(index.inside(lo, hi)) == brute_inside(stored, lo, hi, width)
        else:
            _, q, k = step
            assert index.nearest(q, k) == brute_nearest(stored, q, k, width)
        assert len(index) == len(stored)
    top = (2**width - 1,) * DIMS
    assert list(index.inside((0,) * DIMS, top)) == brute_inside(stored, (0,) * DIMS, top, width)


@settings(max_examples=60, deadline=None)
@given(st.lists(coords(4), min_size=1, max_size=60), st.data())
def test_boxes_and_neighbours_of_stored_keys(keys, data):
    # Boxes and queries built around stored keys, so that they hit.
    index, stored = ZIndex(4), set(keys)
    for key in stored:
        index.insert(key)
    around = data.draw(st.sampled_from(sorted(stored)))
    reach = data.draw(st.tuples(*[st.integers(0, 3)] * DIMS))
    wild = data.draw(st.integers(0, 2**DIMS - 1))
    lo = tuple(0 if wild >> d & 1 else max(0, c - r) for d, (c, r) in enumerate(zip(around, reach)))
    hi = tuple(15 if wild >> d & 1 else min(15, c + r) for d, (c, r) in enumerate(zip(around, reach)))
    assert list(index.inside(lo, hi)) == brute_inside(stored, lo, hi, 4)
    for k in (1, 3, len(stored), len(stored) + 5):
        assert index.nearest(around, k) == brute_nearest(stored, around, k, 4)


def test_ties_rank_in_z_order():
    # Eight keys at distance 1 from the centre, one per component direction.
    centre = (8,) * DIMS
    ring = [tuple(8 + (d == e) * s for e in range(DIMS)) for d in range(4) for s in (-1, 1)]
    index = ZIndex(4)
    for key in ring:
        index.insert(key)
    assert index.nearest(centre, 3) == sorted(ring, key=lambda c: zkey(c, 4))[:3]
    assert index.nearest(centre, 20) == sorted(ring, key=lambda c: zkey(c, 4))


def test_empty_index_and_bad_coordinates():
    index = ZIndex(8)
    assert list(index.inside((0,) * DIMS, (255,) * DIMS)) == []
    assert index.nearest((1,) * DIMS, 4) == []
    for bad in ((256,) + (0,) * 8, (-1,) + (0,) * 8):
        try:
            index.insert(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} was taken")


def test_walks_skip_what_misses():
    # 8,192 keys in 512 clusters of 16 spread over the whole space. A box
    # around a cluster and the 4 keys nearest one of its keys each look at a
    # few dozen subtrees, where a walk of the whole tree looks at 16,383.
    rng = random.Random(3)
    keys = set()
    while len(keys) < 8192:
        centre = tuple(rng.randrange(4, 1 << 15) for _ in range(DIMS))
        keys |= {tuple(c + rng.randrange(-2, 3) for c in centre) for _ in range(16)}
    index = ZIndex(16)
    for key in keys:
        index.insert(key)
    looked = []
    region = index._region
    index._region = lambda i, j: looked.append((i, j)) or region(i, j)
    for key in sorted(keys)[::400]:
        lo, hi = tuple(c - 4 for c in key), tuple(c + 4 for c in key)
        del looked[:]
        assert list(index.inside(lo, hi)) == brute_inside(keys, lo, hi, 16)
        assert len(looked) < 64, len(looked)
        del looked[:]
        assert index.nearest(key, 4) == brute_nearest(keys, key, 4, 16)
        assert len(looked) < 128, len(looked)


# --- the model's range instructions ----------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(coords(8), st.integers(0, 2**64 - 1)), max_size=60),
       st.lists(st.integers(0, 59), max_size=15), boxes(8), coords(8), st.integers(1, 70))
def test_model_range_instructions_match_brute_force(entries, deletes, box, q, k):
    m = Model(sets=64, ways=8, width=8)
    for coord, value in entries:
        m.cput(coord, value)
    for i in deletes:
        if i < len(entries):
            m.cdel(entries[i][0])
    lo, hi = box
    pattern = Pattern(lo, hi, 0)
    hits = brute_inside(m.data, lo, hi, 8)

    assert [(r["coord"], r["value"]) for r in m.crange(pattern).records] == \
        [(c, m.data[c]) for c in hits]

    digest = sum(digest_hash(c, m.data[c], 8) for c in hits) % 2**64
    assert m.cdigest(pattern).fields == {"count": len(hits), "digest": digest}

    assert [(r["coord"], r["value"], r["distance"]) for r in m.cnearest(q, k).records] == \
        [(c, m.data[c], distance(q, c)) for c in brute_nearest(m.data, q, k, 8)]

    # CATTEND DISTANCE: score -L1; best first, ties in Z-order.
    ranked = sorted(hits, key=lambda c: (distance(q, c), zkey(c, 8)))[:k]
    assert [(r["coord"], r["score"]) for r in m.cattend(q, pattern, k, AttendMode.DISTANCE).records] == \
        [(c, -distance(q, c)) for c in ranked]

    # CATTEND DOT from a stored key: the dot product of signed 8-bit lanes.
    if m.data:
        query = sorted(m.data)[0]

        def lanes(v):
            return [(v >> (8 * i) & 255) - 256 * (v >> (8 * i + 7) & 1) for i in range(8)]

        def dot(c):
            return sum(a * b for a, b in zip(lanes(m.data[query]), lanes(m.data[c])))
        order = {c: n for n, c in enumerate(hits)}
        ranked = sorted(hits, key=lambda c: (-dot(c), order[c]))[:k]
        assert [(r["coord"], r["score"]) for r in m.cattend(query, pattern, k).records] == \
            [(c, dot(c)) for c in ranked]
