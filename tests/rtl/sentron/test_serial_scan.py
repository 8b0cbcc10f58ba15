"""SerialScan over a SerialEntryStore against a brute force: the stored keys
inside a box, in ascending Z-order, with each hit's entry read back whole."""

import random

import pytest

from amaranth.hdl import Elaboratable, Module, Mux, Signal
from amaranth.lib import data
from amaranth.sim import Simulator

from rtl.layouts import coord_layout, turn_pattern
from rtl.sentron.entry_store import SerialEntryStore
from rtl.sentron.serial_scan import SerialScan, smear
from vtpu.isa import DIMS

from range_script import TOP, inside, random_range_script, wildcard_query, z_key
from sim_helpers import run_sim


class Rig(Elaboratable):
    """The scan, the store it reads, and the box's bounds in registers that
    turn a component on ``turn`` (``lo`` taking ``component`` on ``replace``),
    as the frame decoder's do."""

    def __init__(self, entries):
        self.scan = SerialScan(entries=entries)
        self.store = SerialEntryStore(entries=entries)
        self.lo, self.hi = Signal(coord_layout()), Signal(coord_layout())
        self.wild = Signal(DIMS)
        self.load = Signal()
        self.lo_in, self.hi_in = Signal(coord_layout()), Signal(coord_layout())
        self.wild_in = Signal(DIMS)
        self.turns = Signal(range(DIMS))      # where the bounds stand (0: as loaded)
        # the bench's own requests to the store (writes, and reading a hit back)
        self.id = Signal(self.store.entry_bits)
        self.fetch, self.beat = Signal(), Signal(self.store.beat_bits)

    def elaborate(self, platform):
        m = Module()
        m.submodules.scan, m.submodules.store = scan, store = self.scan, self.store
        with m.If(self.load):
            m.d.sync += [self.lo.eq(self.lo_in), self.hi.eq(self.hi_in),
                         self.wild.eq(self.wild_in), self.turns.eq(0)]
        with m.Else():
            turn_pattern(m, scan.turn, self.lo, self.hi, self.wild)
            with m.If(scan.turn.turn):
                m.d.sync += self.turns.eq(Mux(self.turns == DIMS - 1, 0, self.turns + 1))
        m.d.comb += [scan.query.payload.lo.eq(self.lo[0]), scan.query.payload.hi.eq(self.hi[0]),
                     scan.query.payload.wild.eq(self.wild[0]),
                     scan.fetch.word.eq(store.word),
                     store.id.eq(Mux(scan.fetch.en, scan.fetch.id, self.id)),
                     store.fetch.eq(scan.fetch.en | self.fetch),
                     store.beat.eq(Mux(scan.fetch.en, scan.fetch.beat, self.beat))]
        return m


async def store_op(ctx, rig, name, entry, key=None, value=0):
    store = rig.store
    ctx.set(rig.id, entry)
    if key is not None:
        ctx.set(store.key, list(key))
    ctx.set(store.value, value)
    ctx.set(getattr(store, name), 1)
    await ctx.tick()
    ctx.set(getattr(store, name), 0)
    while ctx.get(store.busy):
        await ctx.tick()


async def read_back(ctx, rig, entry):
    """Entry ``entry``'s key, valid bit and value, a word at a time."""
    store, words = rig.store, []
    for beat in range(4):
        ctx.set(rig.id, entry)
        ctx.set(rig.beat, beat)
        ctx.set(rig.fetch, 1)
        await ctx.tick()
        ctx.set(rig.fetch, 0)
        await ctx.tick()
        words.append(ctx.get(store.word))
    bits = words[0] | words[1] << 64 | words[2] << 128
    key = tuple((bits >> (16 * i)) & TOP for i in range(DIMS))
    return key, (bits >> (16 * DIMS)) & 1, words[3]


def run_scan(entries, script, seed, every=False):
    """Apply ``script`` (("put", slot, key) / ("del", slot, key) / ("query", lo, hi));
    return per query (the slots answered, the clocks it took). After each hit
    the bench drops ``query.valid`` and reads the hit's entry back, as the
    sentron's range walk does to answer it, and checks it is inside the box.
    ``every``: the scan's (CDIGEST's one pass)."""
    rig = Rig(entries)
    scan = rig.scan
    rng = random.Random(seed)
    answers = []

    async def bench(ctx):
        for step in script:
            if step[0] == "put":
                await store_op(ctx, rig, "write_key", step[1], key=step[2])
                await store_op(ctx, rig, "write_value", step[1], value=step[1] * 1000 + 7)
                continue
            if step[0] == "del":
                await store_op(ctx, rig, "invalidate", step[1])
                continue
            _, lo, hi = step
            query = wildcard_query(lo, hi)
            ctx.set(rig.lo_in, query["lo"])
            ctx.set(rig.hi_in, query["hi"])
            ctx.set(rig.wild_in, query["wild"])
            ctx.set(rig.load, 1)
            await ctx.tick()
            ctx.set(rig.load, 0)
            ctx.set(scan.every, every)
            ctx.set(scan.query.valid, 1)
            got, clocks = [], 0
            while True:
                ctx.set(scan.hits.ready, rng.random() < 0.7)
                _, _, valid, taken, end, slot, query_taken = await ctx.tick().sample(
                    scan.hits.valid, scan.hits.ready, scan.hits.payload.end,
                    scan.hits.payload.slot, scan.query.ready)
                clocks += 1
                assert clocks < 2 * SerialScan.CLOCKS * entries * (entries + 2), \
                    "the scan never ends"
                assert len(got) <= entries, "more hits than entries"
                if not (valid and taken):
                    assert not query_taken
                    continue
                if end:
                    assert query_taken, "the query is taken with the end"
                    break
                got.append(slot)
                ctx.set(scan.query.valid, 0)
                ctx.set(scan.hits.ready, 0)
                # the hit reads back as a stored key inside the box, with its
                # value; the scan puts that key where the bounds' lo was
                key, valid_bit, value = await read_back(ctx, rig, slot)
                assert valid_bit and inside(key, lo, hi) and value == slot * 1000 + 7
                for _ in range(2 * DIMS):
                    if ctx.get(scan.holding):
                        break
                    await ctx.tick()
                assert ctx.get(scan.holding) and ctx.get(rig.turns) == 0
                assert tuple(ctx.get(rig.lo)) == key
                ctx.set(scan.query.valid, 1)
            ctx.set(scan.query.valid, 0)
            ctx.set(scan.hits.ready, 0)
            # and the bounds are back as they were loaded
            assert ctx.get(rig.turns) == 0
            assert list(ctx.get(rig.lo)) == query["lo"] and list(ctx.get(rig.hi)) == query["hi"]
            answers.append((got, clocks))

    run_sim(rig, bench)
    return answers


@pytest.mark.parametrize("seed,entries,spread", [(1, 16, 3), (2, 16, 2), (3, 8, 1 << 16)])
def test_random_against_brute_force(seed, entries, spread):
    script, expected = random_range_script(seed, entries, 120, spread, inside=inside,
                                           z_order=z_key)
    answers = run_scan(entries, script, seed)
    assert [got for got, _ in answers] == expected
    assert max(map(len, expected)) >= (4 if spread < 100 else 1), "the script asks too little"


def test_keys_that_differ_in_one_bit_of_one_component():
    # the Z-order is decided by the component whose XOR has the highest top
    # bit, the lowest-numbered on a tie: keys that differ from a base in one
    # bit of one component each, every order of those decisions
    base = (0x8421, 0x1248, 0xF00F, 0x0FF0, 0x5555, 0xAAAA, 0x3C3C, 0xC3C3, 0x0001)
    keys = []
    for i, b in ((0, 3), (8, 3), (4, 15), (1, 15), (2, 0), (7, 0)):
        k = list(base)
        k[i] ^= 1 << b
        keys.append(tuple(k))
    entries = 8
    script = [("put", s, k) for s, k in enumerate(keys)] + \
        [("query", (0,) * DIMS, (TOP,) * DIMS)]
    (got, _), = run_scan(entries, script, 0)
    assert got == sorted(range(len(keys)), key=lambda s: z_key(keys[s]))


def test_a_pass_costs_twelve_clocks_an_entry():
    entries = 16
    for hits in (0, 2):
        script = [("put", 3 + s, (1 + s,) * DIMS) for s in range(hits)]
        script.append(("query", (0,) * DIMS, (TOP,) * DIMS))
        (got, clocks), = run_scan(entries, script, 0)
        assert len(got) == hits
        passes = hits + 1
        # a pass: twelve clocks an entry, and one to judge the last; a hit
        # ten to put its key in place and ten to put lo back, and the
        # bench's reading it back (eight) and random hits.ready
        assert SerialScan.CLOCKS * entries * passes <= clocks <= \
            (SerialScan.CLOCKS * entries + 40) * passes


@pytest.mark.parametrize("seed,entries,spread", [(4, 16, 3), (5, 8, 2)])
def test_every_hit_in_one_pass(seed, entries, spread):
    """``every`` (CDIGEST): the same hits as the brute force's, each once, in
    the store's order, in one pass (twelve clocks an entry, and each hit's
    answer: the bench reads it back and the key goes in place and back)."""
    script, expected = random_range_script(seed, entries, 120, spread, inside=inside,
                                           z_order=z_key)
    answers = run_scan(entries, script, seed, every=True)
    assert [got for got, _ in answers] == [sorted(hits) for hits in expected]
    assert max(map(len, expected)) >= 4, "the script asks too little"
    for got, clocks in answers:
        assert SerialScan.CLOCKS * entries <= clocks <= \
            SerialScan.CLOCKS * entries + 10 + 60 * len(got)


def test_smear_sets_every_bit_up_to_the_top_one():
    """``smear`` (the scan's Z-order compare keeps it) against ``int.bit_length``,
    over every 16-bit value."""
    m = Module()
    x, y = Signal(16), Signal(16)
    m.d.comb += y.eq(smear(x))

    async def bench(ctx):
        for value in range(1 << 16):
            ctx.set(x, value)
            assert ctx.get(y) == (1 << value.bit_length()) - 1, value
    sim = Simulator(m)         # (no clock: it is logic alone)
    sim.add_testbench(bench)
    sim.run()
