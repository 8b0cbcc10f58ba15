"""Z-order comparator and in-box test against the model's ``vtpu.coord`` functions."""

import random

from amaranth.hdl import Module, Signal

from sim_helpers import run_sim
from rtl.layouts import coord_layout
from rtl.sentron.zorder import in_box, less_than, z_less, z_less_equal
from vtpu.coord import in_box as model_in_box, morton, pack, z_less as model_z_less
from vtpu.isa import DIMS


def _coords(rng, n):
    """Random coordinates, many sharing high Morton bits (the hard cases)."""
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.3:
            out.append(tuple(rng.randrange(65536) for _ in range(DIMS)))
        elif kind < 0.6:
            out.append(tuple(rng.randrange(4) for _ in range(DIMS)))
        else:
            base = out[-1] if out else (7,) * DIMS
            d = rng.randrange(DIMS)
            out.append(tuple((v + rng.choice([-1, 0, 1])) % 65536 if i == d else v
                             for i, v in enumerate(base)))
    return out


def test_z_order_compare_and_in_box_match_model():
    a, b = Signal(coord_layout()), Signal(coord_layout())
    lo, hi = Signal(coord_layout()), Signal(coord_layout())
    less, less_equal, inside = Signal(), Signal(), Signal()
    m = Module()
    m.d.comb += [less.eq(z_less(a, b, 16)), less_equal.eq(z_less_equal(a, b, 16)),
                 inside.eq(in_box(a, lo, hi))]
    rng = random.Random(5)
    pairs = list(zip(_coords(rng, 1500), _coords(rng, 1500)))
    pairs += [(c, c) for c, _ in pairs[:200]]

    async def bench(ctx):
        for x, y in pairs:
            box_lo = tuple(min(p, q) for p, q in zip(x, y))
            box_hi = tuple(max(p, q) for p, q in zip(x, y))
            probe = tuple(rng.choice([p, q, (p + q) // 2]) for p, q in zip(box_lo, box_hi))
            ctx.set(a.as_value(), pack(x))
            ctx.set(b.as_value(), pack(y))
            ctx.set(lo.as_value(), pack(box_lo))
            ctx.set(hi.as_value(), pack(box_hi))
            assert ctx.get(less) == model_z_less(x, y), (x, y)
            assert ctx.get(less_equal) == (morton(x) <= morton(y)), (x, y)
            ctx.set(a.as_value(), pack(probe))
            assert ctx.get(inside) == model_in_box(probe, box_lo, box_hi)
            ctx.set(a.as_value(), pack(x[:-1] + ((box_hi[-1] + 1) % 65536,)))
            assert ctx.get(inside) == model_in_box(x[:-1] + ((box_hi[-1] + 1) % 65536,),
                                                    box_lo, box_hi)

    run_sim(m, bench, clock=False)


def test_tree_less_than_every_width_and_chunk():
    rng = random.Random(6)
    for width, chunk in [(1, 16), (7, 3), (16, 16), (17, 4), (144, 16), (144, 5)]:
        a, b = Signal(width), Signal(width)
        lt, le = Signal(), Signal()
        m = Module()
        m.d.comb += [lt.eq(less_than(a, b, chunk=chunk)),
                     le.eq(less_than(a, b, chunk=chunk, or_equal=True))]
        values = [rng.getrandbits(width) for _ in range(200)]

        async def bench(ctx, values=values, a=a, b=b, lt=lt, le=le, width=width):
            for x in values:
                for y in (x, x ^ (1 << rng.randrange(width)), rng.getrandbits(width)):
                    ctx.set(a, x)
                    ctx.set(b, y)
                    assert (ctx.get(lt), ctx.get(le)) == (int(x < y), int(x <= y)), (width, x, y)

        run_sim(m, bench, clock=False)
