import random

from amaranth.hdl import Module, Signal

from sim_helpers import run_sim
from rtl.link.crc import crc8_next
from vtpu.isa import crc8_update


def test_crc8_next_matches_model():
    m = Module()
    crc, byte, out = Signal(8), Signal(8), Signal(8)
    m.d.comb += out.eq(crc8_next(crc, byte))
    rng = random.Random(1)
    cases = [(rng.randrange(256), rng.randrange(256)) for _ in range(300)]

    async def tb(ctx):
        for c, b in cases:
            ctx.set(crc, c)
            ctx.set(byte, b)
            assert ctx.get(out) == crc8_update(c, b)
    run_sim(m, tb, clock=False)
