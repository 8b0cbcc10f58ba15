"""ZIndex against the model's range rule: the keys inside a box, ascending Z-order."""

import random

import pytest

from amaranth.hdl import Elaboratable, Module
from amaranth.lib.memory import Memory

from rtl.layouts import coord_layout
from rtl.sentron.zindex import ZIndex, highest_one
from vtpu.coord import in_box, max_value, morton
from vtpu.isa import DIMS

from range_script import random_box, random_range_script
from sim_helpers import run_sim, stream_put


class KeysElsewhere(Elaboratable):
    """A ``shared_keys`` index and the memory it reads keys from, which the
    test writes as an entry store's writer would (``keys_w``)."""

    def __init__(self, index):
        self.index = index
        self.keys = Memory(shape=coord_layout(index.width), depth=index.slots, init=[])
        self.keys_w, self.keys_r = self.keys.write_port(), self.keys.read_port()

    def elaborate(self, platform):
        m = Module()
        m.submodules.index, m.submodules.keys = self.index, self.keys
        m.d.comb += [self.keys_r.addr.eq(self.index.keys.addr), self.keys_r.en.eq(self.index.keys.en),
                     self.index.keys.data.eq(self.keys_r.data)]
        return m


def run_index(slots, script, ready_seed=None, queue=ZIndex.QUEUE, shared_keys=False,
              serial_regions=False, directory_bits=None):
    """Apply ``script`` (("put", slot, key) / ("del", slot, key) / ("query", lo, hi)) and
    return, per query, (slots answered, clocks from query offered to end).
    ``ready_seed``: the hits are taken on random clocks instead of every clock.
    ``shared_keys``: the keys in a memory beside the index, each written as its
    put is offered; a slot deleted since the index was last idle is written
    only once it is idle again (the rule the entry store's writer keeps)."""
    dut = ZIndex(slots=slots, queue=queue, shared_keys=shared_keys, serial_regions=serial_regions,
                 directory_bits=directory_bits)
    top = KeysElsewhere(dut) if shared_keys else dut
    answers = []
    ready = random.Random(ready_seed)
    deleted = set()

    async def bench(ctx):
        ctx.set(dut.hits.ready, 1)
        for step in script:
            if step[0] in ("put", "del"):
                _, slot, key = step
                if shared_keys and step[0] == "put":
                    if slot in deleted:
                        await ctx.tick().until(dut.idle)
                        deleted.clear()
                    ctx.set(top.keys_w.addr, slot)
                    ctx.set(top.keys_w.data, list(key))
                    ctx.set(top.keys_w.en, 1)
                    await ctx.tick()
                    ctx.set(top.keys_w.en, 0)
                elif step[0] == "del":
                    deleted.add(slot)
                await stream_put(ctx, dut.update, {"delete": step[0] == "del",
                                                   "key": list(key), "slot": slot})
                continue
            _, lo, hi = step
            await ctx.tick().until(dut.idle)          # the clocks are the query's own
            ctx.set(dut.query.payload, {"lo": list(lo), "hi": list(hi)})
            ctx.set(dut.query.valid, 1)
            got, clocks = [], 0
            while True:
                _, _, valid, taken, end, slot = await ctx.tick().sample(
                    dut.hits.valid, dut.hits.ready, dut.hits.payload.end, dut.hits.payload.slot)
                clocks += 1
                if ready_seed is not None:
                    ctx.set(dut.hits.ready, ready.random() < 0.5)
                if not (valid and taken):
                    continue
                if end:
                    break
                got.append(slot)
            ctx.set(dut.query.valid, 0)
            answers.append((got, clocks))

    run_sim(top, bench)
    return answers


def random_script(seed, slots, steps, spread):
    return random_range_script(seed, slots, steps, spread, inside=in_box, z_order=morton)


@pytest.mark.parametrize("seed,slots,spread", [(1, 16, 3), (2, 64, 6), (3, 64, 1 << 16)])
def test_random_against_reference(seed, slots, spread):
    script, expected = random_script(seed, slots, 600, spread)
    answers = run_index(slots, script)
    assert [got for got, _ in answers] == expected


def test_random_with_a_queue_in_lut_ram():
    """A queue of ``LUT_QUEUE`` or fewer entries is a ``SyncFIFO`` (LUT RAM on
    the ECP5) instead of a block-RAM ``SyncFIFOBuffered``."""
    assert 16 <= ZIndex.LUT_QUEUE
    script, expected = random_script(6, 64, 400, 3)
    answers = run_index(64, script, queue=16)
    assert [got for got, _ in answers] == expected


@pytest.mark.parametrize("seed,slots,spread", [(8, 64, 3), (9, 64, 1 << 16)])
def test_random_with_keys_read_from_elsewhere(seed, slots, spread):
    """``shared_keys``: the index keeps no key copy and reads each key
    through its ``keys`` port, the same answers."""
    script, expected = random_script(seed, slots, 600, spread)
    answers = run_index(slots, script, shared_keys=True)
    assert [got for got, _ in answers] == expected


@pytest.mark.parametrize("seed,slots,spread,ready_seed", [(10, 64, 3, None), (11, 64, 1 << 16, None),
                                                          (12, 16, 3, 12)])
def test_random_with_regions_tested_a_component_a_clock(seed, slots, spread, ready_seed):
    """``serial_regions`` (with ``shared_keys``, as the ULX3S builds it): the
    same answers; a node on the box's edge costs DIMS clocks, not one."""
    script, expected = random_script(seed, slots, 600, spread)
    answers = run_index(slots, script, ready_seed=ready_seed, shared_keys=True,
                        serial_regions=True)
    assert [got for got, _ in answers] == expected
    if ready_seed is None:       # (hits taken at random, the clocks are the random draws')
        parallel = run_index(slots, script, shared_keys=True)
        slower = [serial - fast for (_, serial), (_, fast) in zip(answers, parallel)]
        assert all(d >= 0 for d in slower) and any(d >= DIMS - 1 for d in slower)


def churn_script(seed, slots, rounds=3):
    """Fill most of the slots with keys spread over the whole space, delete
    most of them, then put keys that share their high bits (so that an
    insert's directory entry names a node since freed, or reused elsewhere,
    or one its key does not belong below); a query after every few updates."""
    rng = random.Random(seed)
    stored, script, expected = {}, [], []

    def query():
        lo, hi = random_box(rng, list(stored.values()), 1 << 16)
        if rng.random() < 0.5:
            lo, hi = (0,) * DIMS, (max_value(16),) * DIMS
        script.append(("query", lo, hi))
        inside = [s for s, k in stored.items() if in_box(k, lo, hi)]
        expected.append(sorted(inside, key=lambda s: morton(stored[s])))

    gone = []
    for _ in range(rounds):
        near = list(gone)
        for slot in [s for s in range(slots) if s not in stored][: slots * 3 // 4]:
            if near and rng.random() < 0.7:
                base = rng.choice(near)
                key = tuple(c ^ rng.randrange(1 << rng.randrange(1, 9)) for c in base)
            else:
                key = tuple(rng.randrange(1 << 16) for _ in range(DIMS))
            if key in stored.values():
                continue
            stored[slot] = key
            script.append(("put", slot, key))
            if rng.random() < 0.05:
                query()
        for slot in rng.sample(sorted(stored), len(stored) * 2 // 3):
            gone.append(stored[slot])
            script.append(("del", slot, stored.pop(slot)))
            if rng.random() < 0.05:
                query()
        query()
    return script, expected


@pytest.mark.parametrize("seed,slots,directory_bits", [(13, 256, None), (14, 64, None), (15, 256, 2)])
def test_directory_hints_gone_stale(seed, slots, directory_bits):
    """Inserts whose directory hint has gone stale (freed, reused, or not the
    key's subtree any more) walk again from the root: the answers stay the
    model's, with the default directory and a small one."""
    script, expected = churn_script(seed, slots)
    answers = run_index(slots, script, directory_bits=directory_bits)
    assert [got for got, _ in answers] == expected


def clocks_to_link(slots, keys, **knobs):
    """Clocks from the first of ``keys`` offered back to back until the index is idle."""
    dut = ZIndex(slots=slots, **knobs)
    took = []

    async def bench(ctx):
        clocks = 0
        for slot, key in enumerate(keys):
            ctx.set(dut.update.payload, {"delete": 0, "key": list(key), "slot": slot})
            ctx.set(dut.update.valid, 1)
            while True:
                ready = ctx.get(dut.update.ready)
                await ctx.tick()
                clocks += 1
                if ready:
                    break
        ctx.set(dut.update.valid, 0)
        while not ctx.get(dut.idle):
            await ctx.tick()
            clocks += 1
        took.append(clocks)

    run_sim(dut, bench)
    return took[0]


def test_directory_shortens_the_walks():
    """1,024 new keys into 1,024 slots: with the directory the walks start
    near their leaves, and the index links them in well under the clocks a
    walk from the root takes (a tree about ten levels deep); the answers
    are the same (the tests above)."""
    rng = random.Random(16)
    keys = set()
    while len(keys) < 1024:
        keys.add(tuple(rng.randrange(1 << 16) for _ in range(DIMS)))
    keys = sorted(keys, key=lambda _: rng.random())
    hinted = clocks_to_link(1024, keys)
    rooted = clocks_to_link(1024, keys, directory_bits=0)
    assert hinted < 0.75 * rooted, (hinted, rooted)


@pytest.mark.parametrize("seed,slots,spread", [(4, 64, 3), (5, 64, 1 << 16)])
def test_random_with_hits_taken_on_random_clocks(seed, slots, spread):
    script, expected = random_script(seed, slots, 400, spread)
    answers = run_index(slots, script, ready_seed=seed)
    assert [got for got, _ in answers] == expected


@pytest.mark.parametrize("shape", ["grid", "scattered"])
def test_inside_a_box_a_hit_a_clock(shape):
    """Every key of a box answered: past the first few clocks, one hit a clock
    (the walk answers an inside subtree's leaves without reading them); the
    few clocks more are the walks down the left edge of each subtree."""
    rng = random.Random(3)
    costs = {}
    for n in (256, 512):
        if shape == "grid":
            keys = [(9,) * 7 + (i % 16, i // 16) for i in range(n)]
        else:
            keys = set()
            while len(keys) < n:
                keys.add((9,) * 5 + tuple(rng.randrange(64) for _ in range(4)))
            keys = sorted(keys, key=lambda _: rng.random())
        script = [("put", s, k) for s, k in enumerate(keys)]
        script.append(("query", (0,) * DIMS, (max_value(16),) * DIMS))
        (got, clocks), = run_index(512, script)
        assert sorted(got, key=lambda s: morton(keys[s])) == got and len(got) == n
        costs[n] = clocks
    assert costs[512] - costs[256] <= 256 * 1.05, costs
    assert costs[256] <= 256 + 16, costs


def test_empty_and_single():
    lo, hi = (0,) * DIMS, (max_value(16),) * DIMS
    key = (5,) * DIMS
    answers = run_index(4, [("query", lo, hi), ("put", 2, key), ("query", lo, hi),
                            ("query", (6,) * DIMS, hi), ("del", 2, key), ("query", lo, hi)])
    assert [got for got, _ in answers] == [[], [2], [], []]


def test_query_cost_grows_with_depth_not_size():
    """16 keys in a small box among many spread over the whole space: the query's
    clocks stay near the same whether 32 or 480 other keys are stored."""
    rng = random.Random(7)
    costs = []
    for others in (32, 480):
        slots = 512
        keys = {tuple(1000 + (i >> b & 1) for b in range(DIMS)) for i in range(16)}
        while len(keys) < 16 + others:
            keys.add(tuple(rng.randrange(1 << 16) for _ in range(DIMS)))
        script = [("put", s, k) for s, k in enumerate(sorted(keys, key=lambda _: rng.random()))]
        script.append(("query", (1000,) * DIMS, (1001,) * DIMS))
        (got, clocks), = run_index(slots, script)
        assert len(got) == 16
        costs.append(clocks)
    assert costs[1] < 2 * costs[0], costs


def test_highest_one():
    from amaranth.hdl import Signal
    from amaranth.sim import Simulator
    bits = Signal(37)
    any_, index = highest_one(list(bits))
    results = []

    async def bench(ctx):
        for value in [0, 1, 2, 3, 1 << 36, (1 << 36) | 5, 0b1010_0000]:
            ctx.set(bits, value)
            results.append((value, ctx.get(any_), ctx.get(index)))
    sim = Simulator(__import__("amaranth").hdl.Module())
    sim.add_testbench(bench)
    sim.run()
    for value, a, i in results:
        assert a == (value != 0)
        if value:
            assert i == value.bit_length() - 1
