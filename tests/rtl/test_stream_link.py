"""StreamLink: payloads in order under any back-pressure, one per clock, and
nothing combinational from one end to the other."""

import random

import pytest

from sim_helpers import run_sim
from rtl.stream_link import StreamLink


def run(valid_chance, ready_chance, *, stages=2, depth=None, count=400, seed=1):
    """Random offers and random back-pressure: every payload comes out once, in
    order (a FIFO overrun would lose one); returns the clocks it took."""
    dut = StreamLink(8, stages=stages, depth=depth)
    rng = random.Random(seed)
    sent = [rng.randrange(256) for _ in range(count)]
    received = []
    clocks = 0

    async def tb(ctx):
        nonlocal clocks
        pending = list(sent)
        while len(received) < count:
            offer = bool(pending) and rng.random() < valid_chance
            ctx.set(dut.i.valid, offer)
            if offer:
                ctx.set(dut.i.payload, pending[0])
            ctx.set(dut.o.ready, rng.random() < ready_chance)
            accepted = offer and ctx.get(dut.i.ready)
            if ctx.get(dut.o.valid) and ctx.get(dut.o.ready):
                received.append(ctx.get(dut.o.payload))
            await ctx.tick()
            clocks += 1
            if accepted:
                pending.pop(0)
            assert clocks < 20 * count, "stuck"

    run_sim(dut, tb)
    assert received == sent
    return clocks


@pytest.mark.parametrize("stages", [1, 2, 3])
def test_order_kept_under_random_backpressure(stages):
    for seed, (valid, ready) in enumerate([(0.5, 0.5), (0.9, 0.3), (0.3, 0.9), (1.0, 0.1)]):
        run(valid, ready, stages=stages, seed=seed)


@pytest.mark.parametrize("stages", [1, 2, 3])
def test_full_rate_when_never_stalled(stages):
    # one payload per clock, after the stages and the FIFO's write
    assert run(1.0, 1.0, stages=stages, count=200) == 200 + stages + 1


def test_a_shallow_fifo_is_slower_but_loses_nothing():
    """Fewer slots than the credit round trip: the sender waits for credits."""
    clocks = run(1.0, 1.0, stages=2, depth=3, count=200)
    assert clocks > 300


def test_ready_is_registered():
    """No path from o.ready to i.ready: with the far end stalled, i.ready falls
    only once the credits are spent, and comes back ``stages + 1`` clocks after a pop."""
    dut = StreamLink(8, stages=2)

    async def tb(ctx):
        ctx.set(dut.o.ready, 0)
        ctx.set(dut.i.valid, 1)
        sent = 0
        while ctx.get(dut.i.ready):
            await ctx.tick()
            sent += 1
        assert sent == dut.depth
        ctx.set(dut.i.valid, 0)
        await ctx.tick().repeat(4)
        assert ctx.get(dut.o.valid) and not ctx.get(dut.i.ready)
        ctx.set(dut.o.ready, 1)
        assert not ctx.get(dut.i.ready)         # still no credit until the edges
        await ctx.tick()
        ctx.set(dut.o.ready, 0)
        await ctx.tick()                        # the credit crosses the two stages...
        assert not ctx.get(dut.i.ready)
        await ctx.tick()                        # ...and is counted
        assert ctx.get(dut.i.ready)

    run_sim(dut, tb)
