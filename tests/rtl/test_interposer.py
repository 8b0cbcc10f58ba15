"""Interposer: what the units in front of the sentrons share, on a unit of
its own (``Echo``) and a stand-in for the sentrons that answers every
instruction a fixed number of clocks late, so the test can watch when the
unit sends its own instruction and in which order answers leave."""

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
            with m.If(~self.own_valid):
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
