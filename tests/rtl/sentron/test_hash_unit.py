"""The hash unit: bit-exact with a parity-and-mix reference written apart from vtpu.hash."""

import random

from amaranth.hdl import Module, Signal

from sim_helpers import run_sim
from rtl.sentron.hash_unit import HashUnit, SerialHashUnit, h3_hash
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


def serial_hash_unit_in_sim(keys, rows, gaps, digest_rows=None, values=None):
    """Each key into a ``SerialHashUnit``, ``run`` held until ``busy`` falls, then
    low for ``gaps[n]`` clocks (0: the next key's run starts at once, the key
    changing under a ``run`` that stays high). Returns the hashes, each read
    on the clock ``busy`` falls and again just before the next run starts (it
    must hold), and the clocks each took. With ``digest_rows``, a run whose
    ``values[n]`` is not None hashes the key and that value by them
    (``digest``), and its ``digest_hash`` is read."""
    dut = SerialHashUnit(rows, key_width=16 * DIMS, digest_rows=digest_rows,
                         value_width=64 if digest_rows else 0)
    got, clocks = [], []
    values = values or [None] * len(keys)

    async def bench(ctx):
        for key, gap, value in zip(keys, gaps, values):
            out = dut.hash
            if digest_rows is not None:
                ctx.set(dut.digest, value is not None)
                ctx.set(dut.value, value or 0)
                out = dut.digest_hash if value is not None else dut.hash
            ctx.set(dut.key, key)
            ctx.set(dut.run, 1)
            n = 1
            await ctx.tick()
            while ctx.get(dut.busy):
                n += 1
                await ctx.tick()
            first = ctx.get(out)
            await ctx.tick()        # the clock busy fell in
            if gap:
                ctx.set(dut.run, 0)
                ctx.set(dut.key, 0)             # the hash must not follow the key
                if digest_rows is not None:
                    ctx.set(dut.value, 0)
                for _ in range(gap):
                    await ctx.tick()
            got.append((first, ctx.get(out)))
            clocks.append(n)
    run_sim(dut, bench)
    return got, clocks


def test_serial_hash_bit_exact():
    """The serial form against the same reference, over clustered and random
    keys, with and without idle clocks between runs; a key and its hash in
    145 clocks (one a key bit, and one)."""
    rng = random.Random(3)
    coords = clustered(rng, 12) + [tuple(rng.randrange(65536) for _ in range(DIMS))
                                   for _ in range(12)] + [(0,) * DIMS, (65535,) * DIMS]
    rows = h3_rows(TABLE_SEED, 16 * DIMS, HASH_WIDTH)
    gaps = [rng.choice([0, 0, 1, 3]) for _ in coords]
    got, clocks = serial_hash_unit_in_sim([pack(c) for c in coords], rows, gaps)
    expected = [mix_by_bits(parity_hash(pack(c), rows)) for c in coords]
    assert [first for first, _ in got] == expected
    assert [held for _, held in got] == expected
    assert set(clocks) == {16 * DIMS + 1}


def test_serial_hash_unit_digests_entries_between_keys():
    """With CDIGEST's rows (the iCEBreaker's unit) runs alternate at random
    between a key's table hash and an entry's digest hash (key, then value),
    back to back or apart: each bit-exact with the parity reference, the
    table hash's in 145 clocks and the digest's in 209."""
    rng = random.Random(5)
    coords = clustered(rng, 10) + [tuple(rng.randrange(65536) for _ in range(DIMS))
                                   for _ in range(14)] + [(65535,) * DIMS]
    rows = h3_rows(TABLE_SEED, 16 * DIMS, HASH_WIDTH)
    digest_rows = h3_rows(DIGEST_SEED, 16 * DIMS + 64, DIGEST_WIDTH)
    values = [rng.choice([None, rng.randrange(1 << 64), (1 << 64) - 1]) for _ in coords]
    gaps = [rng.choice([0, 0, 1, 3]) for _ in coords]
    got, clocks = serial_hash_unit_in_sim([pack(c) for c in coords], rows, gaps,
                                          digest_rows, values)
    expected = [mix_by_bits(parity_hash(pack(c), rows)) if v is None
                else parity_hash(pack(c) | v << (16 * DIMS), digest_rows)
                for c, v in zip(coords, values)]
    assert any(v is None for v in values) and any(v is not None for v in values)
    assert [first for first, _ in got] == expected
    assert [held for _, held in got] == expected
    assert clocks == [16 * DIMS + 1 if v is None else 16 * DIMS + 65 for v in values]
