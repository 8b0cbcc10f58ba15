"""BigMin against ``vtpu.coord.bigmin``, the model's Tropf-Herzog decision table."""

import random

from rtl.bigmin import BigMin
from vtpu.coord import bigmin, morton, unmorton, unpack
from vtpu.isa import DIMS

from sim_helpers import run_sim, stream_get, stream_put


def _cases(seed, n, width):
    rng = random.Random(seed)
    top = (1 << width) - 1
    for _ in range(n):
        lo, hi = [], []
        for _ in range(DIMS):
            a, b = sorted(rng.randrange(top + 1) for _ in range(2))
            if rng.random() < 0.3:
                a = b = rng.randrange(top + 1)
            lo.append(a)
            hi.append(b)
        z = [rng.choice([rng.randrange(top + 1), l, h, max(0, l - 1), min(top, h + 1)])
             for l, h in zip(lo, hi)]
        yield tuple(z), tuple(lo), tuple(hi)


def check(width, seed, n):
    dut = BigMin(width=width)
    cases = list(_cases(seed, n, width))
    got = []

    async def bench(ctx):
        for z, lo, hi in cases:
            await stream_put(ctx, dut.i, {"z": list(z), "lo": list(lo), "hi": list(hi)})
            out = await stream_get(ctx, dut.o)
            got.append(unpack(out.coord.as_value().value, width) if out.found else None)

    run_sim(dut, bench)
    for (z, lo, hi), answer in zip(cases, got):
        want = bigmin(morton(z, width), morton(lo, width), morton(hi, width), width)
        assert answer == (None if want is None else unmorton(want, width)), (z, lo, hi)
    return got


def test_matches_model_narrow():
    got = check(4, 1, 300)
    assert any(g is not None for g in got) and any(g is None for g in got)


def test_matches_model_full_width():
    check(16, 2, 60)
