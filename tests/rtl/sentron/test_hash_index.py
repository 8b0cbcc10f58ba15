"""The hash index against the model's cuckoo memory (vtpu.memory.CuckooMemory):
after every command the index RAM must hold exactly the model's slots, and
every answer (status, moves, lookup matches) must be the model's. A slotted
index (an entry's id is its slot's place) holds the model's tags in the
model's places, and says where each new key and moved slot went."""

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


def tags_of(row, slots):
    return [row[j].tag if row[j].valid else None for j in range(slots)]


def index_rows(ctx, dut):
    if dut.slotted:
        return [tags_of(dut.stored_row(ctx, b), dut.slots) for b in range(dut.buckets)]
    return [slots_of(dut.stored_row(ctx, b), dut.slots) for b in range(dut.buckets)]


def model_rows(model, slotted):
    """The model's index; slotted, its tags alone (its entry ids are not places)."""
    if slotted:
        return [[slot and slot[0] for slot in row] for row in model.index[0]]
    return model.index[0]


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


@pytest.mark.parametrize("entries,buckets,max_moves,probed,slotted,registered", [
    (64, 16, 2, False, False, False), (48, 16, 1, False, False, False),
    (24, 8, 0, False, False, False), (32, 16, 2, False, False, False),
    (64, 16, 2, True, False, False), (32, 16, 1, True, False, False),
    (64, 16, 1, False, True, False), (32, 8, 0, False, True, False),
    (64, 16, 2, False, False, True), (48, 16, 1, False, False, True),
    (24, 8, 0, False, False, True), (64, 16, 1, False, True, True)])
def test_index_is_the_models(entries, buckets, max_moves, probed, slotted, registered):
    """``probed``: the rows in two banks, and after every command a probe of
    the key's buckets, against the model's rows. ``slotted``: as many entries
    as slots, each at its slot's place. ``registered``: every row read
    registered before it is acted on."""
    rng = random.Random(entries + buckets + max_moves)
    model = CuckooMemory(entries, buckets=buckets, max_moves=max_moves)
    if slotted:
        dut = HashIndex(buckets=buckets, max_moves=max_moves, slotted=True,
                        registered=registered)
    else:
        dut = HashIndex(buckets=buckets, entry_bits=(entries - 1).bit_length(),
                        max_moves=max_moves, probe=probed, registered=registered)

    def place(key):
        """Where the model keeps ``key``: its entry id, or, slotted, its slot's place."""
        _, b, j = model.where[key]
        return b * dut.slots + j if slotted else model.entry_id(key)
    universe = [tuple(rng.randrange(65536) for _ in range(DIMS)) for _ in range(120)]
    seen = {"moves": set(), "full": 0, "lookups": 0}

    async def bench(ctx):
        stored = set()
        for step in range(700):
            key = rng.choice(universe)
            _, b1, tag = model.locate(key)
            if key in stored and rng.random() < 0.35:
                entry = place(key)
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
                    assert answer.found >> k & 1
                    if not slotted:
                        assert answer.entries[k] == model.entry_id(key)
                    seen["lookups"] += 1
            elif model.free[0] or model.fresh[0] < entries:    # the entry store has an id
                entry = model.free[0][-1] if model.free[0] else model.fresh[0]
                before = model.relocations
                was = {k: model.where[k] for k in stored}
                placed = model.insert(key)
                answer = await command(ctx, dut, IndexOp.INSERT, b1, tag, entry)
                assert answer.status == (Status.OK if placed else Status.TABLE_FULL), step
                if placed:
                    stored.add(key)
                    assert answer.moves == model.relocations - before, step
                    if slotted:
                        assert answer.placed == place(key), step
                        moved = [k for k in was if model.where[k] != was[k]]
                        assert len(moved) == answer.moves, step
                        if moved:
                            # it left the new key's place
                            assert was[moved[0]][1:] == model.where[key][1:], step
                            assert answer.moved_to == place(moved[0]), step
                    else:
                        assert model.entry_id(key) == entry
                    seen["moves"].add(int(answer.moves))
                else:
                    seen["full"] += 1
            assert index_rows(ctx, dut) == model_rows(model, slotted), step
            if probed:
                b2 = model.alt(b1, tag)
                assert await probe(ctx, dut, b1, tag) == model.index[0][b1] + model.index[0][b2]
        # a REMOVE of an entry no slot holds: NOT_FOUND, and nothing changes
        if len(stored) == entries:                    # free an id first
            key = stored.pop()
            _, b1, tag = model.locate(key)
            entry = place(key)
            model.remove(key)
            assert (await command(ctx, dut, IndexOp.REMOVE, b1, tag, entry)).status == Status.OK
        _, b1, tag = model.locate((7,) * DIMS)
        unused = next(e for e in range(entries) if all(place(k) != e for k in stored))
        answer = await command(ctx, dut, IndexOp.REMOVE, b1, tag, unused)
        assert answer.status == Status.NOT_FOUND
        assert index_rows(ctx, dut) == model_rows(model, slotted)

    run_sim(dut, bench)
    assert seen["lookups"] > 20
    if buckets * 4 <= entries:
        assert seen["full"] > 0                        # the search bound was met
        assert seen["moves"] >= set(range(max_moves + 1)), seen["moves"]
