"""Random scripts for the range walks' tests (``ZIndex``, ``ZScan``, ``SerialScan``): keys put
at free slots and deleted, and boxes asked, each box's answer worked out by
the reference the test passes in."""

import random

from vtpu.isa import DIMS

TOP = (1 << 16) - 1


def z_key(key):
    """The Morton number, built here from its definition: bit b of component i
    is bit b * DIMS + (DIMS - 1 - i)."""
    return sum(((key[i] >> b) & 1) << (b * DIMS + DIMS - 1 - i)
               for i in range(DIMS) for b in range(16))


def wildcard_query(lo, hi):
    """A box as a scan takes it (``scan_query_layout``): a full-range component
    as a wildcard, with bounds that would exclude every key."""
    wild = [l == 0 and h == TOP for l, h in zip(lo, hi)]
    return {"lo": [TOP if w else l for l, w in zip(lo, wild)],
            "hi": [0 if w else h for h, w in zip(hi, wild)],
            "wild": sum(w << i for i, w in enumerate(wild))}


def inside(key, lo, hi):
    return all(l <= k <= h for k, l, h in zip(key, lo, hi))


def random_box(rng, keys, spread):
    """A box around a stored key (or anywhere), wildcards as full ranges."""
    centre = rng.choice(keys) if keys and rng.random() < 0.8 else \
        tuple(rng.randrange(spread) for _ in range(DIMS))
    lo, hi = [], []
    for c in centre:
        if rng.random() < 0.3:
            lo.append(0)
            hi.append(TOP)
        else:
            a, b = c - rng.randrange(3), c + rng.randrange(3)
            lo.append(max(0, a))
            hi.append(min(TOP, b))
    return tuple(lo), tuple(hi)


def random_range_script(seed, slots, steps, spread, *, inside, z_order):
    """``steps`` steps: ("put", slot, key), ("del", slot, key) and ("query", lo, hi),
    and for each query the slots inside the box (``inside(key, lo, hi)``) in
    ascending ``z_order(key)``."""
    rng = random.Random(seed)
    stored = {}                       # slot -> key
    script, expected = [], []
    for _ in range(steps):
        roll = rng.random()
        free = [s for s in range(slots) if s not in stored]
        if roll < 0.5 and free:
            key = tuple(rng.randrange(spread) for _ in range(DIMS))
            if key in stored.values():
                continue
            slot = rng.choice(free)
            stored[slot] = key
            script.append(("put", slot, key))
        elif roll < 0.7 and stored:
            slot = rng.choice(list(stored))
            script.append(("del", slot, stored.pop(slot)))
        else:
            lo, hi = random_box(rng, list(stored.values()), spread)
            script.append(("query", lo, hi))
            hits = [s for s, k in stored.items() if inside(k, lo, hi)]
            expected.append(sorted(hits, key=lambda s: z_order(stored[s])))
    return script, expected
