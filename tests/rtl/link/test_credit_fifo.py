"""CreditFIFO against a Python queue: words across two clocks in order, none
lost or repeated, with the writer holding a credit for every write (its
``w_level`` plus the writes it made since, against the depth) and the reader
taking at random; its clock faster and slower than the writer's."""

import random

import pytest
from rtl.link.credit_fifo import CreditFIFO
from sim_helpers import run_sim


@pytest.mark.parametrize("read_period", [0.37e-6, 1.0e-6, 2.3e-6])
def test_words_arrive_in_order_across_clocks(read_period):
    depth, count = 8, 400
    dut = CreditFIFO(width=16, depth=depth, w_domain="sync", r_domain="read")
    rng = random.Random(int(read_period * 1e9))
    words = [rng.randrange(1 << 16) for _ in range(count)]
    got, most = [], {"level": 0}

    async def writer(ctx):
        sent, recent = 0, []            # writes of the last two clocks: not in w_level yet
        while sent < count:
            level = ctx.get(dut.w_level)
            most["level"] = max(most["level"], level)
            if level + sum(recent) < depth and rng.random() < 0.7:
                ctx.set(dut.w_data, words[sent])
                ctx.set(dut.w_en, 1)
                sent += 1
                recent.append(1)
            else:
                ctx.set(dut.w_en, 0)
                recent.append(0)
            recent = recent[-2:]
            await ctx.tick()
        ctx.set(dut.w_en, 0)

    async def reader(ctx):
        idle = 0
        while len(got) < count and idle < 2000:
            take = rng.random() < 0.5
            ctx.set(dut.r_en, take)
            _, _, ready, data = await ctx.tick("read").sample(dut.r_rdy, dut.r_data)
            if ready and take:
                got.append(data)
            idle = 0 if ready else idle + 1

    run_sim(dut, writer, reader, clocks={"read": read_period})
    assert got == words
    assert most["level"] > depth // 2       # the FIFO did fill up, not only trickle


def test_level_counts_what_the_reader_has_not_taken():
    """w_level rises a clock after each write and falls once the reader's
    pointer has crossed back (two flops and a register)."""
    dut = CreditFIFO(width=8, depth=4)
    levels = []

    async def bench(ctx):
        for value in (1, 2, 3):
            ctx.set(dut.w_data, value)
            ctx.set(dut.w_en, 1)
            await ctx.tick()
        ctx.set(dut.w_en, 0)
        for _ in range(6):
            levels.append(ctx.get(dut.w_level))
            await ctx.tick()
        assert ctx.get(dut.r_rdy) and ctx.get(dut.r_data) == 1
        ctx.set(dut.r_en, 1)
        for _ in range(3):
            await ctx.tick()
        ctx.set(dut.r_en, 0)
        for _ in range(6):
            await ctx.tick()
        levels.append(ctx.get(dut.w_level))

    run_sim(dut, bench)
    assert levels[-2] == 3 and levels[-1] == 0, levels
