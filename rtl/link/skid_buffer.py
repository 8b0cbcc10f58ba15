"""SkidBuffer: a stream register slice that cuts every path through it.

    i -> [main register] -> o        i.ready = no payload held in the skid register
           \\-> [skid register] -/

``o.valid``/``o.payload`` come from the main register and ``i.ready`` from a
flop, so neither the payload nor the back-pressure passes through
combinationally, and a payload per clock still goes through when ``o`` is
ready. When ``o`` stalls, the payload accepted that clock (``i.ready`` was
already promised) waits in the skid register.

The skid register takes ``i.payload`` on every clock it is empty, needed or
not, so its enable is a flop (``~skid_valid``) rather than ``o.ready``'s
late decision, fanned out over the payload.

Only the valids are reset: a payload means nothing while its valid is low, and
a reset reaching every payload flop was the largest net of the ECP5 build
(~4000 loads, 10 ns across the chip).
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SkidBuffer"]


class SkidBuffer(wiring.Component):
    def __init__(self, shape):
        self.shape = shape
        super().__init__({
            "i": In(stream.Signature(shape)),
            "o": Out(stream.Signature(shape)),
        })

    def elaborate(self, platform):
        m = Module()
        skid_valid = Signal()
        skid = Signal(self.shape, reset_less=True)    # meaningful when skid_valid
        main = Signal(self.shape, reset_less=True)    # meaningful when o.valid
        m.d.comb += self.o.payload.eq(main)
        m.d.comb += self.i.ready.eq(~skid_valid)
        taken = self.i.valid & ~skid_valid
        with m.If(~skid_valid):
            m.d.sync += skid.eq(self.i.payload)
        with m.If(~self.o.valid | self.o.ready):
            with m.If(skid_valid):
                m.d.sync += [main.eq(skid), self.o.valid.eq(1), skid_valid.eq(0)]
            with m.Else():
                m.d.sync += [main.eq(self.i.payload), self.o.valid.eq(self.i.valid)]
        with m.Elif(taken):
            m.d.sync += skid_valid.eq(1)
        return m
