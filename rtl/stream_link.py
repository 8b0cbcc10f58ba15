"""StreamLink: a stream carried a long way across the chip, flop to flop.

    i -> [stage 1] -> ... -> [stage N] -> FIFO -> o
    i.ready <- credits <- [stage N] <- ... <- [stage 1] <- a pop of the FIFO

A ``valid``/``ready`` pair cannot cross half of an ECP5 at 125 MHz: the
routing alone takes most of the clock, and the far side's ``ready`` then
still has to reach the enables of every payload flop. Here neither direction
carries a decision. The payload moves through ``stages`` plain registers
(nextpnr spreads them along the way) into a FIFO at the far end, which never
refuses it: the sending side holds one credit per FIFO slot and sends only on
a credit. A credit comes back through ``stages`` registers of its own when
the FIFO is popped. ``i.ready`` is a flop (credits left), so every path that
crosses the link starts and ends at a flop.

``depth`` defaults to the credit round trip (``2 * stages + 2`` clocks),
rounded up to a power of two, so the link moves one payload per clock; a
payload takes ``stages + 1`` clocks from accepted to ``o.valid``.

Each stage loads only when it takes a payload, so the first stages of links
fed from one register (the array's dispatch) are not copies of one another
that Yosys would merge into one, shared across the chip.
"""

from amaranth.hdl import Module, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

__all__ = ["StreamLink"]


class StreamLink(wiring.Component):
    def __init__(self, shape, *, stages=2, depth=None):
        assert stages >= 1, "a link has at least one register stage"
        self.shape, self.stages = shape, stages
        self.depth = depth if depth is not None else 1 << ceil_log2(2 * stages + 2)
        super().__init__({
            "i": In(stream.Signature(shape)),
            "o": Out(stream.Signature(shape)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = SyncFIFO(width=len(Value.cast(self.i.payload)),
                                            depth=self.depth)

        # --- forward: payloads through the stages, into the FIFO ---------------------
        credits = Signal(range(self.depth + 1), init=self.depth)
        ready = Signal(init=1)              # credits left: a flop
        m.d.comb += self.i.ready.eq(ready)
        accept = self.i.valid & ready
        valid, payload = accept, Value.cast(self.i.payload)
        for n in range(self.stages):
            stage_valid = Signal(name=f"stage{n + 1}_valid")
            stage = Signal(len(payload), name=f"stage{n + 1}", reset_less=True)
            m.d.sync += stage_valid.eq(valid)
            with m.If(valid):
                m.d.sync += stage.eq(payload)
            valid, payload = stage_valid, stage
        # A credit was spent on this payload, so the FIFO has room for it.
        m.d.comb += [fifo.w_en.eq(valid), fifo.w_data.eq(payload)]

        m.d.comb += [self.o.valid.eq(fifo.r_rdy), self.o.payload.eq(fifo.r_data),
                     fifo.r_en.eq(self.o.ready)]

        # --- back: a credit per pop, through as many stages ---------------------------
        returned = self.o.valid & self.o.ready
        for n in range(self.stages):
            stage = Signal(name=f"credit{n + 1}")
            m.d.sync += stage.eq(returned)
            returned = stage
        credits_next = credits + returned - accept
        m.d.sync += [credits.eq(credits_next), ready.eq(credits_next != 0)]
        return m
