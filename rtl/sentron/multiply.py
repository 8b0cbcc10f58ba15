"""Multiply-high in fabric, one adder a clock: ``vtpu.hash.reduce16`` as hardware.

``p`` is ``(a * b) >> width`` four clocks (for 16 bits) after ``a`` and ``b``.
The first clock forms the product of ``a`` with each 2-bit digit of ``b``
(one adder each); each clock after it adds the terms in pairs, one adder
deep, until one is left. Each adder is a carry chain, and routing between
chains costs more than the chains themselves: a sum of four in one clock, as
a tree of two adders, was the ULX3S core clock's slowest path (a sum of four
written ``t0 + t1 + t2 + t3`` is three chains in series).

It is written as sums of ANDs, not with ``*``, so that Yosys does not map it
to a DSP block. On the ECP5, Yosys neither infers a MULT18X18D's pipeline
registers nor lets nextpnr use them: the block is combinational, 4.45 ns
inside, and the route into it from fabric flops and out again to fabric flops
did not fit in an 8 ns clock (it was the ULX3S build's critical path).
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["MultiplyHigh"]


class MultiplyHigh(wiring.Component):
    """``p = (a * b) >> width``, unsigned, registered, ``latency`` clocks after ``a`` and ``b``.

    A new pair may come on every clock. There is no enable: the pipeline
    registers follow their inputs, so a caller holding ``a`` and ``b`` reads
    their product from ``p`` ``latency`` clocks on, for as long as it holds them.
    """

    def __init__(self, width=16):
        assert width >= 4 and width & (width - 1) == 0, "width must be a power of two >= 4"
        self.width = width
        # the digits' clock, then one per halving of the width // 2 digits
        self.latency = 1 + (width // 2 - 1).bit_length()
        super().__init__({"a": In(width), "b": In(width), "p": Out(width)})

    def elaborate(self, platform):
        m = Module()
        n = self.width
        # clock 1: a * (digit d of b), n + 2 bits, at weight 4**d
        terms = []
        for d in range(n // 2):
            low = self.a & self.b[2 * d].replicate(n)
            high = self.a & self.b[2 * d + 1].replicate(n)
            digit = Signal(n + 2, reset_less=True, name=f"digit{d}")
            m.d.sync += digit.eq(low + (high << 1))
            terms.append(digit)
        # each clock after: the terms in pairs; at level l a term spans 2**l
        # digits (n + 2 * 2**l bits, its weight 4**(2**l * k))
        level = 0
        while len(terms) > 1:
            level += 1
            span = 1 << (level - 1)          # digits in each term added now
            pairs = []
            for k in range(len(terms) // 2):
                pair = Signal(n + 2 * (1 << level), reset_less=True, name=f"sum{level}_{k}")
                m.d.sync += pair.eq(terms[2 * k] + (terms[2 * k + 1] << (2 * span)))
                pairs.append(pair)
            terms = pairs
        m.d.comb += self.p.eq(terms[0][n:2 * n])
        return m
