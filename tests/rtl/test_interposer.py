"""Interposer: what the units in front of the sentrons share, on a unit of
its own (``Echo``) and a stand-in for the sentrons that answers every
instruction a fixed number of clocks late, so the test can watch when the
unit sends its own instruction and in which order answers leave."""

import random

import pytest
from amaranth.hdl import Signal

from sim_helpers import run_sim
from rtl.interposer import Interposer
from vtpu.isa import Op, Status

LATENCY = 6


class Echo(Interposer):
    """Claims CMOE; sends one CGET of its coordinate and answers CMOE with the
    CGET's status."""

    def claims(self, cmd):
        return cmd.op == Op.CMOE

    def capture(self, m, cmd):
        m.d.sync += self.coord.eq(cmd.coord)

    def datapath(self, m):
        self.coord = Signal.like(self.i.payload.coord)

    def work(self, m):
        status = Signal(Status)
        with m.State("START"):
            self.send(m, op=Op.CGET, coord=self.coord)
            with m.If(self.o.ready):
                m.next = "WAIT"
        with m.State("WAIT"):
            with m.If(self.receive(m)):
                m.d.sync += status.eq(self.answers.payload.status)
                m.next = "FINAL"
        with m.State("FINAL"):
            self.finish(m, status)


def test_claimed_instruction_waits_and_answers_stay_in_order():
    """Tags 0..9 go in, 4 and 7 claimed. The unit's CGET leaves only once
    every instruction ahead has answered; no instruction behind a claimed one
    leaves before it has answered; answers come out with tags in issue order,
    the claimed ones with the status the stand-in gave their CGET."""
    dut = Echo(width=16, value_width=64)
    claimed = {4, 7}
    sent, answered, out = [], [], []     # (clock, tag or "own") at o; clock at answers; tags out

    async def source(ctx):
        for tag in range(10):
            ctx.set(dut.i.payload.op, Op.CMOE if tag in claimed else Op.CPUT)
            ctx.set(dut.i.payload.tag, tag)
            ctx.set(dut.i.payload.coord.as_value(), tag)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)

    async def sentrons(ctx):
        """Takes every instruction at once and answers it LATENCY clocks later:
        CGET with NOT_FOUND, anything else OK."""
        ctx.set(dut.o.ready, 1)
        pending, clock = [], 0
        while len(out) < 10:
            due = pending and pending[0][0] <= clock
            if due:
                _, tag, op = pending[0]
                ctx.set(dut.answers.payload.tag, tag)
                ctx.set(dut.answers.payload.op, op)
                ctx.set(dut.answers.payload.status,
                        Status.NOT_FOUND if op == Op.CGET else Status.OK)
            ctx.set(dut.answers.valid, bool(due))
            _, _, valid, payload, a_ready = await ctx.tick().sample(
                dut.o.valid, dut.o.payload, dut.answers.ready)
            clock += 1
            if due and a_ready:
                answered.append(clock)
                pending.pop(0)
            if valid:
                op = Op(payload.op)
                sent.append((clock, "own" if op == Op.CGET else payload.tag))
                pending.append((clock + LATENCY, payload.tag, op))

    async def sink(ctx):
        ctx.set(dut.answer.ready, 1)
        while len(out) < 10:
            _, _, valid, payload = await ctx.tick().sample(dut.answer.valid, dut.answer.payload)
            if valid:
                out.append((payload.tag, Op(payload.op), Status(payload.status)))

    run_sim(dut, source, sentrons, sink)
    assert [tag for tag, _, _ in out] == list(range(10))
    assert [(op, s) for tag, op, s in out if tag in claimed] == [(Op.CMOE, Status.NOT_FOUND)] * 2
    order = [who for _, who in sent]
    assert order == [0, 1, 2, 3, "own", 5, 6, "own", 8, 9]
    # the unit's CGET went out after every earlier answer had come back
    for index, who in enumerate(order):
        if who == "own":
            assert sent[index][0] > answered[index - 1]


@pytest.mark.parametrize("seed", range(4))
def test_random_traffic_keeps_order_and_the_stream_rules(seed):
    """120 instructions, claimed ones back to back among passthrough ones
    whose answers carry 0-3 records (MORE) first, with random gaps at ``i``,
    random ready at ``o`` and at ``answer``, and a stand-in for the sentrons
    that answers in order after a random latency: every record and final
    answer leaves in issue order, and neither ``o`` nor ``answer`` drops
    valid or changes payload while it waits."""
    rng = random.Random(seed)
    dut = Echo(width=16, value_width=64)
    ops = [rng.choice([Op.CMOE, Op.CMOE, Op.CPUT, Op.CRANGE]) for _ in range(120)]
    records = [rng.randrange(4) if op == Op.CRANGE else 0 for op in ops]
    expected = [(tag, more) for tag in range(len(ops))
                for more in [1] * records[tag] + [0]]
    out, errors, done = [], [], []

    async def source(ctx):
        for tag, op in enumerate(ops):
            while rng.random() < 0.3:
                ctx.set(dut.i.valid, 0)
                await ctx.tick()
            ctx.set(dut.i.payload.op, op)
            ctx.set(dut.i.payload.tag, tag)
            ctx.set(dut.i.payload.coord.as_value(), tag)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)

    def held(previous, valid, word):
        """A stream that offered a payload and was not taken still offers it."""
        return previous is None or not previous[0] or previous[1] or (valid and word == previous[2])

    async def sentrons(ctx):
        pending, clock, current, previous = [], 0, None, None
        while not done:
            ctx.set(dut.o.ready, rng.random() < 0.6)
            if current is None and pending and pending[0][0] <= clock and rng.random() < 0.7:
                current = pending.pop(0)
            if current is not None:
                _, tag, op, more = current
                ctx.set(dut.answers.payload.tag, tag)
                ctx.set(dut.answers.payload.op, op)
                ctx.set(dut.answers.payload.more, more)
                ctx.set(dut.answers.payload.status,
                        Status.NOT_FOUND if op == Op.CGET else Status.OK)
            ctx.set(dut.answers.valid, current is not None)
            _, _, valid, ready, payload, taken = await ctx.tick().sample(
                dut.o.valid, dut.o.ready, dut.o.payload, dut.answers.ready)
            clock += 1
            word = payload.as_value().value
            if not held(previous, valid, word):
                errors.append(("o", clock))
            previous = (valid, ready, word)
            if current is not None and taken:
                current = None
            if valid and ready:
                op, tag = Op(payload.op), int(payload.tag)
                at = clock + rng.randrange(1, 8)
                pending += [(at, tag, op, 1)] * (records[tag] if op == Op.CRANGE else 0)
                pending.append((at, tag, op, 0))

    async def sink(ctx):
        previous, idle = None, 0
        while len(out) < len(expected) and idle < 3000:
            ctx.set(dut.answer.ready, rng.random() < 0.5)
            _, _, valid, ready, payload = await ctx.tick().sample(
                dut.answer.valid, dut.answer.ready, dut.answer.payload)
            idle = 0 if valid else idle + 1
            word = payload.as_value().value
            if not held(previous, valid, word):
                errors.append(("answer", len(out)))
            previous = (valid, ready, word)
            if valid and ready:
                out.append((int(payload.tag), int(payload.more)))
                if Op(payload.op) == Op.CMOE and Status(payload.status) != Status.NOT_FOUND:
                    errors.append(("claimed answer", int(payload.tag)))
        done.append(True)

    run_sim(dut, source, sentrons, sink)
    assert not errors, errors[:5]
    assert out == expected
