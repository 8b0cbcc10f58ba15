"""The register slices: SkidBuffer (both paths cut) and StreamRegister (nothing
in front of its register)."""

import random

import pytest

from sim_helpers import run_sim
from rtl.link.skid_buffer import SkidBuffer
from rtl.link.stream_register import StreamRegister

SLICES = [SkidBuffer, StreamRegister]


def run(valid_chance, ready_chance, count=400, seed=1, kind=SkidBuffer):
    """Random offers and random back-pressure: every payload comes out once, in
    order; returns the clocks it took."""
    dut = kind(8)
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
            # sample the handshakes as the edge sees them
            accepted = offer and ctx.get(dut.i.ready)
            delivered = ctx.get(dut.o.valid) and ctx.get(dut.o.ready)
            if delivered:
                received.append(ctx.get(dut.o.payload))
            await ctx.tick()
            clocks += 1
            if accepted:
                pending.pop(0)
            assert clocks < 20 * count, "stuck"

    run_sim(dut, tb)
    assert received == sent
    return clocks


@pytest.mark.parametrize("kind", SLICES)
def test_order_kept_under_random_backpressure(kind):
    for seed, (valid, ready) in enumerate([(0.5, 0.5), (0.9, 0.3), (0.3, 0.9), (1.0, 0.5)]):
        run(valid, ready, seed=seed, kind=kind)


@pytest.mark.parametrize("kind", SLICES)
def test_full_rate_when_never_stalled(kind):
    # one payload per clock, plus the clock through the register
    assert run(1.0, 1.0, count=200, kind=kind) == 201


def test_ready_is_registered():
    """No path from o.ready to i.ready: i.ready does not change within a clock."""
    dut = SkidBuffer(8)

    async def tb(ctx):
        ctx.set(dut.i.valid, 1)
        ctx.set(dut.o.ready, 0)
        await ctx.tick()
        await ctx.tick()              # o holds one, the skid register the next
        assert not ctx.get(dut.i.ready)
        ctx.set(dut.o.ready, 1)
        assert not ctx.get(dut.i.ready)   # still full until the edge
        await ctx.tick()
        assert ctx.get(dut.i.ready)

    run_sim(dut, tb)
