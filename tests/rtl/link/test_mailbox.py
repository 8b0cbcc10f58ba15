"""Mailbox against a list: payloads across two clocks in order, each taken once,
the receiver's clock faster and slower than the sender's, both sides idling at
random (the sender holds each payload from valid until its transfer)."""

import random

import pytest
from rtl.link.mailbox import Mailbox
from sim_helpers import run_sim, until_ready


@pytest.mark.parametrize("r_period", [0.41e-6, 1.0e-6, 2.7e-6])
def test_payloads_cross_in_order_once_each(r_period):
    count = 120
    dut = Mailbox(16, w_domain="sync", r_domain="read")
    rng = random.Random(int(r_period * 1e9))
    sent = [rng.randrange(1 << 16) for _ in range(count)]
    got = []

    async def sender(ctx):
        for value in sent:
            while rng.random() < 0.3:           # idle a while before offering
                await ctx.tick()
            ctx.set(dut.i.payload, value)
            ctx.set(dut.i.valid, 1)
            if not await until_ready(ctx, dut.i.ready, 200):
                return                          # the comparison below fails
            ctx.set(dut.i.valid, 0)
            ctx.set(dut.i.payload, 0xdead)      # what the receiver must not see

    async def receiver(ctx):
        idle = 0
        while len(got) < count and idle < 500:
            take = rng.random() < 0.6
            ctx.set(dut.o.ready, take)
            _, _, valid, payload = await ctx.tick("read").sample(dut.o.valid, dut.o.payload)
            if valid and take:
                got.append(payload)
            idle = 0 if valid else idle + 1

    run_sim(dut, sender, receiver, clocks={"read": r_period})
    assert got == sent
