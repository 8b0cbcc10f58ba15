"""H3 hash unit: constant XOR trees, two pipeline stages, one key per clock.

Output bit j is the parity of ``key & rows[j]`` with the rows of
``vtpu.hash.h3_rows(seed, in_bits, out_bits)``, so the unit is bit-exact with
the model's ``table_hash`` / ``digest_hash``. The first stage registers
partial parities over ``chunk``-bit slices of each row (a few LUT levels), the
second XORs them: no multiplier, short paths for iCE40 fabric.
"""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from vtpu.hash import h3_rows

__all__ = ["h3_partials", "h3_hash", "HashUnit"]


def h3_partials(key, rows, chunk=32):
    """Per output bit, a list of partial parities (expressions) whose XOR is the hash bit."""
    out = []
    for row in rows:
        taps = [i for i in range(len(key)) if row >> i & 1]
        groups = [taps[k:k + chunk] for k in range(0, len(taps), chunk)] or [[]]
        out.append([Cat(*(key[i] for i in g)).xor() if g else Const(0, 1) for g in groups])
    return out


def h3_hash(key, rows):
    """The H3 hash of ``key`` in one combinational stage (one bit per row)."""
    return Cat(*(Cat(*p).xor() for p in h3_partials(key, rows)))


class HashUnit(wiring.Component):
    """Stream in ``{key, meta}``, stream out ``{hash, meta}``; latency 2, no bubbles.

    ``meta`` is any shape the user wants kept in step with its key.
    """

    def __init__(self, seed, in_bits, out_bits, meta_shape=1, chunk=32):
        self.rows = h3_rows(seed, in_bits, out_bits)
        self.chunk = chunk
        self.i_layout = data.StructLayout({"key": in_bits, "meta": meta_shape})
        self.o_layout = data.StructLayout({"hash": out_bits, "meta": meta_shape})
        super().__init__({
            "i": In(stream.Signature(self.i_layout)),
            "o": Out(stream.Signature(self.o_layout)),
        })

    def elaborate(self, platform):
        m = Module()
        partials = h3_partials(self.i.payload.key, self.rows, self.chunk)
        stage1 = [Signal(len(p), name=f"partial{j}") for j, p in enumerate(partials)]
        meta1 = Signal.like(self.i.payload.meta)
        valid1 = Signal()
        # The whole pipeline advances when its output is free or being taken.
        advance = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(advance)
        with m.If(advance):
            m.d.sync += [valid1.eq(self.i.valid), meta1.eq(self.i.payload.meta)]
            m.d.sync += [s.eq(Cat(*p)) for s, p in zip(stage1, partials)]
            m.d.sync += [self.o.valid.eq(valid1), self.o.payload.meta.eq(meta1),
                         self.o.payload.hash.eq(Cat(*(s.xor() for s in stage1)))]
        return m
