"""BIGMIN: the smallest Z-value above ``z`` inside a box (Tropf & Herzog 1981).

Bit-serial over the interleaved bits, most significant first, one per clock,
exactly the decision table of ``vtpu.coord.bigmin``; the keys stay in
coordinate form, so a step reads bit ``level`` of component ``dim`` of z and
of the two corners, and LOAD rewrites one component's bits from ``level``
down (``(dim, level)`` walks Morton positions from ``DIMS*W - 1`` to 0).

A sorted Z-order list is range-scanned by jumping to BIGMIN past every key
that falls outside the box; the Z-order index (``rtl.zindex``) gets the same
skipping from its tree -- it drops a subtree whose region misses the box --
without a fresh descent per jump. This block is the list form, for users that
keep keys in a Z-sorted memory.
"""

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from vtpu.isa import COORD_WIDTH, DIMS

from .layouts import coord_layout

__all__ = ["BigMin"]


class BigMin(wiring.Component):
    """``i``: {z, lo, hi} (the box's corners); ``o``: {found, coord}, DIMS*W+1 clocks later."""

    def __init__(self, width=COORD_WIDTH):
        self.width = width
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({
                "z": coord_layout(width), "lo": coord_layout(width), "hi": coord_layout(width)}))),
            "o": Out(stream.Signature(data.StructLayout({
                "found": 1, "coord": coord_layout(width)}))),
        })

    def elaborate(self, platform):
        m = Module()
        W = self.width
        z, zmin, zmax = (Signal(coord_layout(W), name=n) for n in ("z", "zmin", "zmax"))
        result = Signal(coord_layout(W))
        found = Signal()
        level = Signal(range(W))
        dim = Signal(range(DIMS))
        busy = Signal()

        zb, lb, hb = (Signal(name=n) for n in ("zb", "lb", "hb"))
        m.d.comb += [zb.eq(_component(z, dim, W).bit_select(level, 1)),
                     lb.eq(_component(zmin, dim, W).bit_select(level, 1)),
                     hb.eq(_component(zmax, dim, W).bit_select(level, 1))]

        below = Signal(W)
        m.d.comb += below.eq(((Const(1, W + 1) << level) - 1)[:W])

        def load(key, value, name):
            """``key`` with bit ``level`` of component ``dim`` set to ``value`` and
            the component's lower bits to the opposite."""
            out = Signal(coord_layout(W), name=name)
            m.d.comb += out.eq(key)
            m.d.comb += out[dim].eq((_component(key, dim, W) & ~((below << 1) | 1)[:W]) |
                                    (Mux(value, below + 1, below))[:W])
            return out

        zmin_1, zmax_0 = load(zmin, 1, "zmin_load1"), load(zmax, 0, "zmax_load0")
        last = (level == 0) & (dim == DIMS - 1)
        finish = Signal()

        m.d.comb += self.i.ready.eq(~busy & ~self.o.valid)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [z.eq(self.i.payload.z), zmin.eq(self.i.payload.lo),
                         zmax.eq(self.i.payload.hi), found.eq(0), busy.eq(1),
                         level.eq(W - 1), dim.eq(0)]
        with m.If(busy):
            with m.Switch(Mux(zb, 4, 0) | Mux(lb, 2, 0) | Mux(hb, 1, 0)):
                with m.Case(0b001):
                    m.d.sync += [result.eq(zmin_1), found.eq(1), zmax.eq(zmax_0)]
                with m.Case(0b011):
                    m.d.sync += [result.eq(zmin), found.eq(1)]
                    m.d.comb += finish.eq(1)
                with m.Case(0b100, 0b010, 0b110):    # 010/110: zmin above zmax, no answer
                    m.d.comb += finish.eq(1)
                with m.Case(0b101):
                    m.d.sync += zmin.eq(zmin_1)
            with m.If(finish | last):
                m.d.sync += [busy.eq(0), self.o.valid.eq(1)]
            with m.Elif(dim == DIMS - 1):
                m.d.sync += [dim.eq(0), level.eq(level - 1)]
            with m.Else():
                m.d.sync += dim.eq(dim + 1)
        m.d.comb += [self.o.payload.found.eq(found), self.o.payload.coord.eq(result)]
        return m


def _component(key, dim, width):
    """Component ``dim`` (a signal) of a coordinate view."""
    return key.as_value().word_select(dim, width)
