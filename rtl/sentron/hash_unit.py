"""The hash stage: H3 as constant XOR trees, one key per clock.

Output bit j is the parity of ``key & rows[j]`` with the rows of
``vtpu.hash.h3_rows(seed, in_bits, out_bits)``, so the logic is bit-exact with
the model's ``table_hash`` / ``digest_hash``. It is the pipeline's first
stage: an array hashes each coordinate once, into its dispatch register
(``rtl.array``: the hash picks the owning sentron and the set), a sequencer
without an array hashes into R1 / S1, and CDIGEST hashes each entry it reads.
No multiplier; partial parities over ``chunk``-bit slices keep the trees
shallow for iCE40 fabric.
"""

from amaranth.hdl import Cat, Const

__all__ = ["h3_partials", "h3_hash"]


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
