import random

from sim_helpers import run_sim
from rtl.sentron.multiply import MultiplyHigh
from vtpu.hash import reduce16


def test_multiply_high_matches_model_back_to_back():
    dut = MultiplyHigh(16)
    rng = random.Random(5)
    edges = [(0, 0), (0xFFFF, 0xFFFF), (0xFFFF, 1), (1, 0xFFFF), (0x8000, 2), (0xFFFF, 0x10)]
    pairs = edges + [(rng.randrange(1 << 16), rng.randrange(1 << 16)) for _ in range(400)]

    async def tb(ctx):
        # one pair per clock; each product comes out ``latency`` clocks after its pair
        for k in range(len(pairs) + dut.latency - 1):
            if k < len(pairs):
                ctx.set(dut.a, pairs[k][0])
                ctx.set(dut.b, pairs[k][1])
            await ctx.tick()
            if k + 1 >= dut.latency:
                a, b = pairs[k + 1 - dut.latency]
                assert ctx.get(dut.p) == reduce16(a, b), (a, b)
    run_sim(dut, tb)


def test_multiply_high_holds_its_answer_while_the_inputs_hold():
    dut = MultiplyHigh(16)

    async def tb(ctx):
        ctx.set(dut.a, 0xBEEF)
        ctx.set(dut.b, 1234)
        await ctx.tick().repeat(dut.latency)
        for _ in range(3):
            assert ctx.get(dut.p) == reduce16(0xBEEF, 1234)
            await ctx.tick()
    run_sim(dut, tb)
