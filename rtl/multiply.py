"""Multiply-high in fabric, over three clocks: ``vtpu.hash.reduce16`` as hardware.

``p`` is ``(a * b) >> width`` three clocks after ``a`` and ``b``. The first
clock forms the product of ``a`` with each 2-bit digit of ``b`` (one adder
each), the second adds those in pairs (one adder deep), the third adds the
rest as a balanced tree (two adders deep). Each adder is a carry chain; a
sum of four written as ``t0 + t1 + t2 + t3`` is three chains in series, and
routing between chains costs more than the chains themselves.

It is written as sums of ANDs, not with ``*``, so that Yosys does not map it
to a DSP block. On the ECP5, Yosys neither infers a MULT18X18D's pipeline
registers nor lets nextpnr use them: the block is combinational, 4.45 ns
inside, and the route into it from fabric flops and out again to fabric flops
did not fit in an 8 ns clock (it was the ULX3S build's critical path).
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["MultiplyHigh", "balanced_sum"]


def balanced_sum(terms):
    """The sum of ``terms`` (shifted values, at least one) as a tree of adders."""
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
    return terms[0]


class MultiplyHigh(wiring.Component):
    """``p = (a * b) >> width``, unsigned, registered, ``latency`` clocks after ``a`` and ``b``.

    A new pair may come on every clock. There is no enable: the pipeline
    registers follow their inputs, so a caller holding ``a`` and ``b`` reads
    their product from ``p`` three clocks on, for as long as it holds them.
    """

    latency = 3

    def __init__(self, width=16):
        assert width % 4 == 0
        self.width = width
        super().__init__({"a": In(width), "b": In(width), "p": Out(width)})

    def elaborate(self, platform):
        m = Module()
        n = self.width
        # clock 1: a * (digit d of b), n + 2 bits, at weight 4**d
        digits = []
        for d in range(n // 2):
            low = self.a & self.b[2 * d].replicate(n)
            high = self.a & self.b[2 * d + 1].replicate(n)
            digit = Signal(n + 2, reset_less=True, name=f"digit{d}")
            m.d.sync += digit.eq(low + (high << 1))
            digits.append(digit)
        # clock 2: pairs of digits, n + 4 bits, at weight 16**k
        pairs = []
        for k in range(len(digits) // 2):
            pair = Signal(n + 4, reset_less=True, name=f"pair{k}")
            m.d.sync += pair.eq(digits[2 * k] + (digits[2 * k + 1] << 2))
            pairs.append(pair)
        # clock 3: the rest, and the high half of the product
        product = balanced_sum([pair << (4 * k) for k, pair in enumerate(pairs)])
        m.d.sync += self.p.eq(product[n:2 * n])
        return m
