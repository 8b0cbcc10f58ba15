"""The hash unit: bit-exact with a parity-and-mix reference written apart from vtpu.hash."""

import random

from amaranth.hdl import Module, Signal

from sim_helpers import run_sim
from rtl.sentron.hash_unit import HashUnit, h3_hash
from vtpu.coord import pack
from vtpu.hash import digest_hash, h3_rows, table_hash
from vtpu.isa import DIGEST_SEED, DIGEST_WIDTH, DIMS, HASH_WIDTH, TABLE_SEED


def parity_hash(key, rows):
    """Bit j: the parity of key AND row j, counted bit by bit."""
    return sum((bin(key & row).count("1") & 1) << j for j, row in enumerate(rows))


def mix_by_bits(x):
    """chi then diffusion, by definition: a[i] = x[i] ^ (~x[i+1] & x[i+2]);
    out[i] = a[i] ^ a[i-7] ^ a[i-22] (indices mod 48)."""
    b = [x >> i & 1 for i in range(48)]
    a = [b[i] ^ ((b[(i + 1) % 48] ^ 1) & b[(i + 2) % 48]) for i in range(48)]
    return sum((a[i] ^ a[(i - 7) % 48] ^ a[(i - 22) % 48]) << i for i in range(48))


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


def hash_unit_in_sim(keys, rows, stalls, stages=1):
    """Keys into a ``HashUnit`` one a clock, ``en`` low on the clocks in ``stalls``:
    the hashes it outputs (a clock after each key), in order."""
    dut = HashUnit(rows, key_width=16 * DIMS)
    got = []

    async def bench(ctx):
        queue = list(keys)
        clock = 0
        in_flight = []
        while queue or in_flight:
            en = clock not in stalls
            ctx.set(dut.en, en)
            if queue:
                ctx.set(dut.key, queue[0])
            await ctx.tick()
            if en:
                # each key moves a stage per enabled clock; after ``stages`` it is out
                in_flight = [(k, n + 1) for k, n in in_flight]
                if queue:
                    in_flight.append((queue.pop(0), 1))
                if in_flight and in_flight[0][1] == stages:
                    got.append(ctx.get(dut.hash))
                    in_flight.pop(0)
            clock += 1
    run_sim(dut, bench)
    return got


def test_table_hash_bit_exact():
    rng = random.Random(1)
    coords = clustered(rng, 100) + [tuple(rng.randrange(65536) for _ in range(DIMS))
                                    for _ in range(100)]
    rows = h3_rows(TABLE_SEED, 16 * DIMS, HASH_WIDTH)
    expected = [mix_by_bits(parity_hash(pack(c), rows)) for c in coords]
    assert expected == [table_hash(c) for c in coords]
    got = hash_unit_in_sim([pack(c) for c in coords], rows, {3, 4, 10, 11, 12, 50})
    assert got == expected


def test_other_seed_other_hash():
    rows = h3_rows(TABLE_SEED ^ 1, 16 * DIMS, HASH_WIDTH)
    coords = [tuple(range(d, d + DIMS)) for d in range(8)]
    got = hash_unit_in_sim([pack(c) for c in coords], rows, set())
    assert got == [table_hash(c, seed=TABLE_SEED ^ 1) for c in coords]
    assert got != [table_hash(c) for c in coords]


def test_digest_hash_bit_exact():
    rng = random.Random(2)
    pairs = [(tuple(rng.randrange(65536) for _ in range(DIMS)), rng.getrandbits(64))
             for _ in range(60)]
    rows = h3_rows(DIGEST_SEED, 16 * DIMS + 64, DIGEST_WIDTH)
    keys = [pack(c) | v << (16 * DIMS) for c, v in pairs]
    got = hash_in_sim(keys, rows, 16 * DIMS + 64)
    assert got == [parity_hash(k, rows) for k in keys]
    assert got == [digest_hash(c, v) for c, v in pairs]
