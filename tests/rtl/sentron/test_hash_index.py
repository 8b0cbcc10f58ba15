"""The hash index against the model's cuckoo memory (vtpu.memory.CuckooMemory):
after every command the index RAM must hold exactly the model's slots, and
every answer (status, moves, lookup matches) must be the model's."""

import random

import pytest

from sim_helpers import run_sim
from rtl.sentron.hash_index import HashIndex, IndexOp
from vtpu.isa import DIMS, Status
from vtpu.memory import CuckooMemory


async def command(ctx, dut, op, bucket, tag, entry=0):
    ctx.set(dut.i.valid, 1)
    ctx.set(dut.i.payload, {"op": op, "bucket": bucket, "tag": tag, "entry": entry})
    await ctx.tick().until(dut.i.ready)
    ctx.set(dut.i.valid, 0)
    ctx.set(dut.o.ready, 1)
    for _ in range(200):
        if ctx.get(dut.o.valid):
            answer = ctx.get(dut.o.payload)
            await ctx.tick()
            ctx.set(dut.o.ready, 0)
            return answer
        await ctx.tick()
    raise AssertionError("no answer in 200 clocks")


def slots_of(row, slots):
    return [(row[j].tag, row[j].entry) if row[j].valid else None for j in range(slots)]


def index_rows(ctx, dut):
    return [slots_of(dut.stored_row(ctx, b), dut.slots) for b in range(dut.buckets)]


async def probe(ctx, dut, bucket, tag):
    """The probe's rows of a key's two buckets; they must hold while nothing probes."""
    ctx.set(dut.probe_bucket, bucket)
    ctx.set(dut.probe_tag, tag)
    ctx.set(dut.probe_en, 1)
    await ctx.tick()
    ctx.set(dut.probe_en, 0)
    ctx.set(dut.probe_bucket, bucket ^ 1)
    rows = ctx.get(dut.probe_rows)
    await ctx.tick().repeat(2)
    assert ctx.get(dut.probe_rows) == rows
    return slots_of(rows, 2 * dut.slots)


@pytest.mark.parametrize("entries,buckets,max_moves,probed", [
    (64, 16, 2, False), (48, 16, 1, False), (24, 8, 0, False), (32, 16, 2, False),
    (64, 16, 2, True), (32, 16, 1, True)])
def test_index_is_the_models(entries, buckets, max_moves, probed):
    """``probed``: the rows in two banks, and after every command a probe of
    the key's buckets, against the model's rows."""
    rng = random.Random(entries + buckets + max_moves)
    model = CuckooMemory(entries, buckets=buckets, max_moves=max_moves)
    dut = HashIndex(buckets=buckets, entry_bits=(entries - 1).bit_length(), max_moves=max_moves,
                    probe=probed)
    universe = [tuple(rng.randrange(65536) for _ in range(DIMS)) for _ in range(120)]
    seen = {"moves": set(), "full": 0, "lookups": 0}

    async def bench(ctx):
        stored = set()
        for step in range(700):
            key = rng.choice(universe)
            _, b1, tag = model.locate(key)
            if key in stored and rng.random() < 0.35:
                entry = model.entry_id(key)
                model.remove(key)
                stored.discard(key)
                answer = await command(ctx, dut, IndexOp.REMOVE, b1, tag, entry)
                assert answer.status == Status.OK, step
            elif key in stored or rng.random() < 0.2:
                answer = await command(ctx, dut, IndexOp.LOOKUP, b1, tag)
                b2 = model.alt(b1, tag)
                expected = [slot is not None and slot[0] == tag
                            for b in (b1, b2) for slot in model.index[0][b]]
                assert [answer.found >> k & 1 for k in range(2 * dut.slots)] == expected, step
                assert answer.status == (Status.OK if any(expected) else Status.NOT_FOUND)
                if key in stored:
                    s, b, j = model.where[key]
                    k = j + (dut.slots if b != b1 else 0)
                    assert answer.found >> k & 1 and answer.entries[k] == model.entry_id(key)
                    seen["lookups"] += 1
            elif model.free[0] or model.fresh[0] < entries:    # the entry store has an id
                entry = model.free[0][-1] if model.free[0] else model.fresh[0]
                before = model.relocations
                placed = model.insert(key)
                answer = await command(ctx, dut, IndexOp.INSERT, b1, tag, entry)
                assert answer.status == (Status.OK if placed else Status.TABLE_FULL), step
                if placed:
                    stored.add(key)
                    assert model.entry_id(key) == entry
                    assert answer.moves == model.relocations - before, step
                    seen["moves"].add(int(answer.moves))
                else:
                    seen["full"] += 1
            assert index_rows(ctx, dut) == model.index[0], step
            if probed:
                b2 = model.alt(b1, tag)
                assert await probe(ctx, dut, b1, tag) == model.index[0][b1] + model.index[0][b2]
        # a REMOVE of an entry no slot holds: NOT_FOUND, and nothing changes
        if len(stored) == entries:                    # free an id first
            key = stored.pop()
            _, b1, tag = model.locate(key)
            entry = model.entry_id(key)
            model.remove(key)
            assert (await command(ctx, dut, IndexOp.REMOVE, b1, tag, entry)).status == Status.OK
        _, b1, tag = model.locate((7,) * DIMS)
        unused = next(e for e in range(entries) if all(model.entry_id(k) != e for k in stored))
        answer = await command(ctx, dut, IndexOp.REMOVE, b1, tag, unused)
        assert answer.status == Status.NOT_FOUND
        assert index_rows(ctx, dut) == model.index[0]

    run_sim(dut, bench)
    assert seen["lookups"] > 20
    if buckets * 4 <= entries:
        assert seen["full"] > 0                        # the search bound was met
        assert seen["moves"] >= set(range(max_moves + 1)), seen["moves"]
