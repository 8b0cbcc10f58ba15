"""ASCII coordinate parser: ``2.1.3/4.7.11/18.29.47`` in, a coordinate out.

One byte per clock, no stalls while the output is free. The text rule is
``vtpu.coord.parse_coord``'s (without labels): surrounding whitespace is
ignored, the nine decimal components are separated by ``.`` or ``/`` with
exactly two ``/`` in all (the model splits on ``/`` into three groups, then
every group on ``.``, so only the totals matter), no component is empty, and
each fits in ``width`` bits. Anything else answers ``ok = 0``.

``i`` carries ``{byte, last}``; ``last`` marks the text's final byte. ``o``
carries ``{ok, coord}``, one per text.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from vtpu.isa import COORD_WIDTH, DIMS

from .layouts import coord_layout

__all__ = ["CoordParser"]

_WHITESPACE = b" \t\n\r\x0b\x0c"


class CoordParser(wiring.Component):
    def __init__(self, width=COORD_WIDTH):
        self.width = width
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({"byte": 8, "last": 1}))),
            "o": Out(stream.Signature(data.StructLayout({"ok": 1, "coord": coord_layout(width)}))),
        })

    def elaborate(self, platform):
        m = Module()
        W = self.width
        dim = Signal(range(DIMS + 1))        # the component being read
        slashes = Signal(range(4))
        value = Signal(W)
        digits = Signal()                    # the component has a digit
        too_big = Signal()                   # the component left 0 .. 2**W-1
        started, trailing = Signal(), Signal()
        bad = Signal()
        coord = Signal(coord_layout(W))

        byte = self.i.payload.byte
        is_space = byte.matches(*_WHITESPACE)
        is_digit = (byte >= ord("0")) & (byte <= ord("9"))
        is_dot, is_slash = byte == ord("."), byte == ord("/")
        wide = Signal(W + 4)                 # value * 10 + digit, before the range check
        m.d.comb += wide.eq((value << 3) + (value << 1) + (byte - ord("0"))[:4])

        # the state after this byte, then the answer if it is the last one
        next_bad = Signal()
        next_dim = Signal.like(dim)
        next_slashes = Signal.like(slashes)
        end_component = Signal()             # a separator closes the component
        m.d.comb += [next_bad.eq(bad), next_dim.eq(dim), next_slashes.eq(slashes)]
        with m.If(is_space):
            pass                             # leading or trailing; inside, caught below
        with m.Elif(trailing):
            m.d.comb += next_bad.eq(1)       # text after trailing whitespace
        with m.Elif(is_digit):
            pass
        with m.Elif(is_dot | is_slash):
            m.d.comb += end_component.eq(1)
            with m.If(~digits | too_big | (dim == DIMS - 1) | (is_slash & (slashes == 2))):
                m.d.comb += next_bad.eq(1)
            m.d.comb += [next_dim.eq(dim + 1), next_slashes.eq(slashes + is_slash)]
        with m.Else():
            m.d.comb += next_bad.eq(1)

        # the last component ends with the text
        digit_now = is_digit & ~trailing
        final_value = Mux(digit_now, wide[:W], value)
        final_digits = ~end_component & (digits | digit_now)
        final_too_big = too_big | (digit_now & (wide >> W).any())
        last_ok = (~next_bad & (next_dim == DIMS - 1) & (next_slashes == 2) & final_digits &
                   ~final_too_big)

        out_free = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(out_free)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [bad.eq(next_bad), dim.eq(next_dim), slashes.eq(next_slashes)]
            with m.If(is_space):
                m.d.sync += trailing.eq(started)
            with m.Else():
                m.d.sync += started.eq(1)
            with m.If(digit_now):
                m.d.sync += [value.eq(wide[:W]), digits.eq(1), too_big.eq(final_too_big)]
            with m.If(end_component):
                m.d.sync += [coord[dim].eq(value), value.eq(0), digits.eq(0), too_big.eq(0)]
            with m.If(self.i.payload.last):
                m.d.sync += [self.o.valid.eq(1), self.o.payload.ok.eq(last_ok),
                             self.o.payload.coord.eq(coord),
                             self.o.payload.coord[DIMS - 1].eq(final_value),
                             dim.eq(0), slashes.eq(0), value.eq(0), digits.eq(0),
                             too_big.eq(0), started.eq(0), trailing.eq(0), bad.eq(0)]
        return m
