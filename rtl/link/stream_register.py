"""StreamRegister: a stream register stage with nothing in front of its payload register.

    i -> [register] -> o        i.ready = o is empty or being taken

The payload register loads straight from ``i.payload``: no multiplexer sits
between them, so the data of a block RAM (5.8 ns after the clock on an ECP5)
reaches a flop that can stand next to it. ``i.ready`` follows ``o.ready``
through a gate; ``SkidBuffer`` cuts that path too, at the price of a
multiplexer in front of its register. Only ``o.valid`` is reset.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["StreamRegister"]


class StreamRegister(wiring.Component):
    def __init__(self, shape):
        self.shape = shape
        super().__init__({
            "i": In(stream.Signature(shape)),
            "o": Out(stream.Signature(shape)),
        })

    def elaborate(self, platform):
        m = Module()
        payload = Signal(self.shape, reset_less=True)    # meaningful when o.valid
        m.d.comb += [self.i.ready.eq(~self.o.valid | self.o.ready), self.o.payload.eq(payload)]
        with m.If(self.i.ready):
            m.d.sync += [self.o.valid.eq(self.i.valid), payload.eq(self.i.payload)]
        return m
