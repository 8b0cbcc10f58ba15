"""HashUnit: bit-exact with vtpu.hash, one key per clock."""

import random

from amaranth.back import verilog

from sim_helpers import run_sim
from rtl.hash_unit import HashUnit
from vtpu.coord import pack
from vtpu.hash import digest_hash, table_hash
from vtpu.isa import DIGEST_SEED, DIGEST_WIDTH, DIMS, HASH_WIDTH, TABLE_SEED


def run_keys(dut, keys, ready_prob=1.0, seed=0):
    rng = random.Random(seed)
    got, cycles = [], [0]

    async def source(ctx):
        for index, key in enumerate(keys):
            ctx.set(dut.i.payload.key, key)
            ctx.set(dut.i.payload.meta, index)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        while len(got) < len(keys):
            ctx.set(dut.o.ready, rng.random() < ready_prob)
            _, _, valid, ready, h, meta = await ctx.tick().sample(
                dut.o.valid, dut.o.ready, dut.o.payload.hash, dut.o.payload.meta)
            cycles[0] += 1
            if valid and ready:
                got.append((meta, h))
    run_sim(dut, source, sink)
    return got, cycles[0]


def clustered(rng, n):
    return [(1, 1, rng.randrange(1, 9), 1, rng.randrange(1, 9), 1, rng.randrange(1, 9),
             rng.randrange(1, 9), rng.randrange(1, 17)) for _ in range(n)]


def test_table_hash_bit_exact_one_per_clock():
    rng = random.Random(1)
    coords = clustered(rng, 100) + [tuple(rng.randrange(65536) for _ in range(DIMS)) for _ in range(100)]
    dut = HashUnit(TABLE_SEED, 16 * DIMS, HASH_WIDTH, meta_shape=8)
    got, cycles = run_keys(dut, [pack(c) for c in coords])
    assert [h for _, h in got] == [table_hash(c) for c in coords]
    assert [meta for meta, _ in got] == [i % 256 for i in range(len(coords))]
    assert cycles <= len(coords) + 3          # one per clock after a latency of 2


def test_digest_hash_with_backpressure():
    rng = random.Random(2)
    pairs = [(tuple(rng.randrange(65536) for _ in range(DIMS)), rng.getrandbits(64)) for _ in range(60)]
    dut = HashUnit(DIGEST_SEED, 16 * DIMS + 64, DIGEST_WIDTH, meta_shape=8)
    got, _ = run_keys(dut, [pack(c) | v << (16 * DIMS) for c, v in pairs], ready_prob=0.5, seed=3)
    assert [h for _, h in got] == [digest_hash(c, v) for c, v in pairs]


def test_converts_to_verilog():
    assert "module" in verilog.convert(HashUnit(TABLE_SEED, 144, 48), name="hash_unit")
