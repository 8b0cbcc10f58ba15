"""The hash stage: bit-exact with a parity reference written apart from vtpu.hash."""

import random

from amaranth.hdl import Module, Signal

from sim_helpers import run_sim
from rtl.sentron.hash_unit import h3_hash
from vtpu.coord import pack
from vtpu.hash import digest_hash, h3_rows, table_hash
from vtpu.isa import DIGEST_SEED, DIGEST_WIDTH, DIMS, HASH_WIDTH, TABLE_SEED


def parity_hash(key, rows):
    """Bit j: the parity of key AND row j, counted bit by bit."""
    return sum((bin(key & row).count("1") & 1) << j for j, row in enumerate(rows))


def hash_in_sim(keys, rows, in_bits):
    m = Module()
    key = Signal(in_bits)
    out = Signal(len(rows))
    m.d.comb += out.eq(h3_hash(key, rows))
    got = []

    async def bench(ctx):
        for k in keys:
            ctx.set(key, k)
            got.append(ctx.get(out))
    run_sim(m, bench, clock=False)
    return got


def clustered(rng, n):
    return [(1, 1, rng.randrange(1, 9), 1, rng.randrange(1, 9), 1, rng.randrange(1, 9),
             rng.randrange(1, 9), rng.randrange(1, 17)) for _ in range(n)]


def test_table_hash_bit_exact():
    rng = random.Random(1)
    coords = clustered(rng, 100) + [tuple(rng.randrange(65536) for _ in range(DIMS))
                                    for _ in range(100)]
    rows = h3_rows(TABLE_SEED, 16 * DIMS, HASH_WIDTH)
    got = hash_in_sim([pack(c) for c in coords], rows, 16 * DIMS)
    assert got == [parity_hash(pack(c), rows) for c in coords]
    assert got == [table_hash(c) for c in coords]


def test_digest_hash_bit_exact():
    rng = random.Random(2)
    pairs = [(tuple(rng.randrange(65536) for _ in range(DIMS)), rng.getrandbits(64))
             for _ in range(60)]
    rows = h3_rows(DIGEST_SEED, 16 * DIMS + 64, DIGEST_WIDTH)
    keys = [pack(c) | v << (16 * DIMS) for c, v in pairs]
    got = hash_in_sim(keys, rows, 16 * DIMS + 64)
    assert got == [parity_hash(k, rows) for k in keys]
    assert got == [digest_hash(c, v) for c, v in pairs]
