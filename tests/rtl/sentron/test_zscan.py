"""ZScan against a brute force: the stored keys inside a box, in ascending Z-order."""

import random

import pytest

from amaranth.hdl import Elaboratable, Module
from amaranth.lib.memory import Memory

from rtl.sentron.zscan import ZScan, scan_entry_layout
from vtpu.isa import DIMS

from range_script import TOP, inside, random_range_script, wildcard_query, z_key
from sim_helpers import run_sim


class Store(Elaboratable):
    """The scan and an entry store it reads, which the test writes between queries."""

    def __init__(self, slots, registered=False):
        self.scan = ZScan(slots=slots, registered=registered)
        self.store = Memory(shape=scan_entry_layout(16), depth=slots, init=[])
        self.w, self.r = self.store.write_port(), self.store.read_port()

    def elaborate(self, platform):
        m = Module()
        m.submodules.scan, m.submodules.store = self.scan, self.store
        m.d.comb += [self.r.addr.eq(self.scan.entries.addr), self.r.en.eq(self.scan.entries.en),
                     self.scan.entries.data.eq(self.r.data)]
        return m


def run_scan(slots, script, seed, eager=False, registered=False):
    """Apply ``script`` (("put", slot, key) / ("del", slot) / ("query", lo, hi));
    return per query (the slots answered, the clocks it took). Hits are taken
    on random clocks, and after each one ``query.valid`` drops for a few clocks,
    as the range walk drops it while it reads the hit's entry; or (``eager``)
    at once, with ``query.valid`` held. ``registered``: the scan's compares
    in two clocks (an entry every three)."""
    top = Store(slots, registered)
    dut = top.scan
    rng = random.Random(seed)
    answers = []

    async def bench(ctx):
        for step in script:
            if step[0] != "query":
                ctx.set(top.w.addr, step[1])
                ctx.set(top.w.data, {"valid": step[0] == "put",
                                     "key": list(step[2]) if step[0] == "put" else [0] * DIMS})
                ctx.set(top.w.en, 1)
                await ctx.tick()
                ctx.set(top.w.en, 0)
                continue
            _, lo, hi = step
            ctx.set(dut.query.payload, wildcard_query(lo, hi))
            ctx.set(dut.query.valid, 1)
            got, clocks, away = [], 0, 0
            while True:
                ctx.set(dut.hits.ready, eager or (rng.random() < 0.7 and away == 0))
                ctx.set(dut.query.valid, away == 0)
                _, _, valid, taken, end, slot, query_taken = await ctx.tick().sample(
                    dut.hits.valid, dut.hits.ready, dut.hits.payload.end, dut.hits.payload.slot,
                    dut.query.ready)
                clocks += 1
                assert clocks < 4 * (slots + 4) * (slots + 2), "the scan never ends"
                away = max(0, away - 1)
                if not (valid and taken):
                    assert not query_taken
                    continue
                if end:
                    assert query_taken, "the query is taken with the end"
                    break
                got.append(slot)
                away = 0 if eager else rng.randrange(4)
            ctx.set(dut.query.valid, 0)
            ctx.set(dut.hits.ready, 0)
            answers.append((got, clocks))

    run_sim(top, bench)
    return answers


def random_script(seed, slots, steps, spread):
    return random_range_script(seed, slots, steps, spread, inside=inside, z_order=z_key)


@pytest.mark.parametrize("seed,slots,spread,registered", [
    (1, 16, 3, False), (2, 32, 2, False), (3, 32, 1 << 16, False), (4, 16, 3, True),
    (5, 32, 2, True)])
def test_random_against_brute_force(seed, slots, spread, registered):
    script, expected = random_script(seed, slots, 300, spread)
    answers = run_scan(slots, script, seed, registered=registered)
    assert [got for got, _ in answers] == expected
    # (the sparse store's boxes hold one key or none, but the script must ask some)
    assert max(map(len, expected)) >= (4 if spread < 100 else 1), "the script asks too little"


def test_empty_store_and_a_full_one():
    # nothing stored: the end at once; every slot stored and the whole space asked
    slots = 8
    keys = [tuple((s * 7 + i * 3) % 11 for i in range(DIMS)) for s in range(slots)]
    whole = ((0,) * DIMS, (TOP,) * DIMS)
    script = [("query", *whole)] + [("put", s, k) for s, k in enumerate(keys)] + \
        [("query", *whole)]
    (none, _), (every, _) = run_scan(slots, script, 5)
    assert none == []
    assert every == sorted(range(slots), key=lambda s: z_key(keys[s]))


@pytest.mark.parametrize("registered", [False, True])
def test_a_pass_costs_two_clocks_an_entry(registered):
    # hits taken at once: each pass reads every entry, two clocks each (three
    # with the compares registered)
    slots, per_entry = 32, 3 if registered else 2
    for hits in (0, 1, 3):
        script = [("put", 9 + s, (1 + s,) * DIMS) for s in range(hits)]
        script.append(("query", (0,) * DIMS, (TOP,) * DIMS))
        (got, clocks), = run_scan(slots, script, 0, eager=True, registered=registered)
        assert len(got) == hits
        assert per_entry * slots * (hits + 1) <= clocks <= (per_entry * slots + 6) * (hits + 1)
