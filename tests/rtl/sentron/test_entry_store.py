"""SerialEntryStore against a dict of entry id -> (key, value, valid): random
writes, value overwrites, invalidations, moves of one entry into another and
lookups, half of them with a key
that differs from the stored one in a single component, so that each of the
three key words' compares is what decides."""

import random

import pytest

from sim_helpers import run_sim
from rtl.sentron.entry_store import SerialEntryStore
from vtpu.isa import COORD_WIDTH, DIMS, VALUE_WIDTH

ENTRIES = 16


def random_key(rng):
    return tuple(rng.randrange(1 << COORD_WIDTH) for _ in range(DIMS))


def op_clock(ctx, dut, name, entry, key=None, value=0):
    ctx.set(dut.id, entry)
    if key is not None:
        ctx.set(dut.key, list(key))
    ctx.set(dut.value, value)
    ctx.set(getattr(dut, name), 1)


async def lookup(ctx, dut, entry, key):
    op_clock(ctx, dut, "lookup", entry, key)
    await ctx.tick()
    ctx.set(dut.lookup, 0)
    for clocks in range(1, 10):
        assert ctx.get(dut.busy)
        if ctx.get(dut.done):
            match = ctx.get(dut.match)
            await ctx.tick()
            # the value's word stays on the port until the next operation
            stored = ctx.get(dut.stored)
            await ctx.tick()
            assert ctx.get(dut.stored) == stored
            return match, stored, clocks
        await ctx.tick()
    raise AssertionError("no answer in 10 clocks")


@pytest.mark.parametrize("seed", [1, 2])
def test_store_matches_reference(seed):
    dut = SerialEntryStore(entries=ENTRIES)
    rng = random.Random(seed)
    reference = {}          # id -> [key, value, valid]
    tallies = {"match": 0, "near_miss": 0, "dead": 0, "moved": 0}

    async def testbench(ctx):
        for _ in range(600):
            entry = rng.randrange(ENTRIES)
            action = rng.choice(["new", "new", "value", "invalidate", "move", "lookup", "lookup",
                                 "lookup"])
            if action == "new":
                key, value = random_key(rng), rng.randrange(1 << VALUE_WIDTH)
                op_clock(ctx, dut, "write_key", entry, key)
                await ctx.tick()
                ctx.set(dut.write_key, 0)
                while ctx.get(dut.busy):
                    await ctx.tick()
                op_clock(ctx, dut, "write_value", entry, key, value)
                await ctx.tick()
                ctx.set(dut.write_value, 0)
                reference[entry] = [key, value, True]
            elif action == "value" and entry in reference:
                value = rng.randrange(1 << VALUE_WIDTH)
                op_clock(ctx, dut, "write_value", entry, value=value)
                await ctx.tick()
                ctx.set(dut.write_value, 0)
                reference[entry][1] = value
            elif action == "invalidate" and entry in reference:
                op_clock(ctx, dut, "invalidate", entry, reference[entry][0])
                await ctx.tick()
                ctx.set(dut.invalidate, 0)
                reference[entry][2] = False
            elif action == "move" and entry in reference:
                to = rng.randrange(ENTRIES)
                ctx.set(dut.to, to)
                op_clock(ctx, dut, "move", entry)
                await ctx.tick()
                ctx.set(dut.move, 0)
                clocks = 1
                while ctx.get(dut.busy):
                    await ctx.tick()
                    clocks += 1
                assert clocks == 3 * (dut.key_words + 1) + 1
                reference[to] = list(reference[entry])
                tallies["moved"] += 1
            elif action == "lookup" and entry in reference:
                key, value, valid = reference[entry]
                asked = list(key)
                if rng.random() < 0.5:       # one component off: one word decides
                    d = rng.randrange(DIMS)
                    asked[d] ^= 1 << rng.randrange(COORD_WIDTH)
                match, stored, clocks = await lookup(ctx, dut, entry, asked)
                want = valid and tuple(asked) == key
                assert match == want, (entry, key, asked, valid)
                assert clocks == dut.lookup_clocks
                if want:
                    assert stored == value
                    tallies["match"] += 1
                elif valid:
                    tallies["near_miss"] += 1
                else:
                    tallies["dead"] += 1

    run_sim(dut, testbench)
    assert all(n > 10 for n in tallies.values()), tallies
