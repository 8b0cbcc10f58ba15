"""Cycle figures measured in Amaranth's simulator, for ``make bench``.

Throughput and latency are measured at the sentron's instruction interface
(decoded instructions in, answers out), where the 1-per-clock targets apply;
the byte-serial host link in front of it moves one byte per clock.

  * ``rtl.<op>.per_clock``: instructions answered per clock, back to back,
    in the steady state (answers / clocks from first to last answer); for
    CGET, CDEL and ``cput_overwrite`` (CPUTs of stored keys) those after a
    quarter of CPUTs that store the keys;
  * ``rtl.<op>.latency_clocks``: clocks from the edge an instruction
    transfers in to the edge its answer transfers out (a single register
    stage between them counts 1), the median over those measured;
  * ``rtl.array4.<op>.*``: the same through a 4-sentron ``SentronArray``;
  * ``rtl.pipelined.<op>.*``, ``rtl.pipelined.array4.<op>.*``: the same for
    ``PipelinedSequencer``, the pipelined ULX3S build's sentron, alone and four in an array;
  * ``rtl.cuckoo.<op>.*``: ``CuckooSequencer``, the sentron on the cuckoo
    memory (256 entries), one instruction at a time; ``rtl.cuckoo_pipelined.<op>.*``
    the same with its point instructions pipelined (``pipelined=True``);
    ``rtl.cuckoo_spram.<op>.*``
    the iCEBreaker's (its entries in 64-bit words, ``SerialEntryStore``, its
    key hashed a bit a clock) and ``rtl.cuckoo_hx8k.<op>.*``
    the HX8K's (its store scanned for the range instructions, its key hashed
    a bit a clock), each with the instructions its board carries;
    ``rtl.cuckoo.cput.new_keys.per_clock`` new keys into 1024 entries (the Z-order
    index reading their keys from the entry store) and
    ``rtl.cuckoo_pipelined.cput.new_keys.atN`` the rate over the 1024 new
    keys up to N stored, of 8192 into 8192 entries;
    ``rtl.cuckoo_pipelined.array4.cput.new_keys.per_clock`` 896 new keys into
    four such sentrons of 256 entries each (an array), over the second half;
    ``rtl.ulx3s-85f.cput.new_keys.atN`` the same into the ULX3S's memory
    as its core builds it, up to 7/8 of its entries (``measure_new_keys``); and
    ``rtl.cuckoo.crange.clocks.capN`` a CRANGE as ``rtl.crange.clocks.capN`` in
    N entries (``rtl.cuckoo_serial_regions.*`` with the index's regions tested
    a component a clock, as on the indexed ULX3S build; ``rtl.cuckoo_hx8k.*``
    by scanning, as the HX8K's and the ULX3S's sentrons do;
    ``rtl.cuckoo_spram.crange.*`` and ``.cdigest.clocks.capN`` the iCEBreaker's,
    behind a sender that turns the pattern, ``TurningSender``);
  * ``rtl.cnearest.clocks.capN``: a CNEAREST of k = 8 in a sentron of N
    slots a quarter full, as ``rtl.crange.clocks.capN`` (``measure_range``);
  * ``rtl.cattend.clocks_per_key``: the clocks each key of a box adds to a
    CATTEND once the walk is inside the box (a box of 512 keys against one of
    256), and ``rtl.cattend.clocks.keysN`` the whole instruction's clocks;
    ``rtl.cattend.offset_box.*`` the same for a box whose edges cut the
    index's subtrees (``measure_cattend``);
  * ``rtl[.array4|.cuckoo|.cuckoo_pipelined].ckg.clocks_per_hop``: CKG walks of MAX_HOPS hops
    back to back through the hop unit (``SentronArray``), clocks over hops
    (``measure_ckg``).
"""

import random
import statistics

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from vtpu.coord import pack
from vtpu.isa import DIMS, MAX_HOPS, ROUTE_ENTRIES, Op, RouteMode, Status

from rtl.layouts import COMMAND_FIELD, turn_pattern
from rtl.array import SentronArray
from rtl.sentron.cuckoo_sequencer import CuckooSequencer
from rtl.sentron.execute import RANGE_OPS, SENTRON_OPS
from rtl.sentron.pipelined_sequencer import PipelinedSequencer
from rtl.sentron.sequencer import Sequencer
from rtl.sentron.zindex import ZIndex
from rtl.boards import BOARDS

__all__ = ["measure_stream", "figures"]


def _pattern_value(lo, hi, mask=0):
    """A pattern as the command's ``pattern`` member: mask, then lo, then hi (packed)."""
    return mask | lo << 16 | hi << (16 + 16 * DIMS)


class _Bench:
    """One design in Amaranth's simulator, run again and again: building the
    simulator (elaborating and compiling the design) takes seconds, a run of a
    few hundred instructions a fraction of one. Before each run but the first
    the simulator is reset: every signal and memory back to its initial value,
    the clock and both testbenches restarted, as in a new one."""

    def __init__(self, dut):
        self.dut, self.instructions, self.used = dut, [], False
        self.sim = Simulator(dut)
        self.sim.add_clock(1e-6)
        self.sim.add_testbench(self._source)
        self.sim.add_testbench(self._sink)

    def run(self, instructions):
        """Drive (op, members) instructions back to back into the design; returns
        the clock each was accepted at, the clock of each final answer, the final
        statuses and each instruction's record count (its MORE answers)."""
        self.instructions = instructions
        self.accepted, self.finals, self.statuses, self.records = [], [], [], []
        if self.used:
            self.sim.reset()
        self.used = True
        self.sim.run()
        return self.accepted, self.finals, self.statuses, self.records

    async def _source(self, ctx):
        dut, cycle = self.dut, 0
        held = getattr(dut, "hold", False)
        for op, members in self.instructions:
            ctx.set(dut.i.payload.as_value(), 0)
            ctx.set(dut.i.payload.op, op)
            ctx.set(dut.i.payload.error, Status.OK)
            for name, value in members.items():
                target = getattr(dut.i.payload, COMMAND_FIELD.get(name, name))
                ctx.set(target.as_value() if hasattr(target, "as_value") else target, value)
            ctx.set(dut.i.valid, 1)
            # a sentron that works on the instruction where its sender holds
            # it (``hold``) takes it with its answer: it is in from the first
            # edge it is offered at, as an idle one's would be
            if held:
                self.accepted.append(cycle + 1)
            while True:
                _, _, ready = await ctx.tick().sample(dut.i.ready)
                cycle += 1
                if ready:
                    if not held:
                        self.accepted.append(cycle)
                    break
        ctx.set(dut.i.valid, 0)

    async def _sink(self, ctx):
        dut = self.dut
        ctx.set(dut.o.ready, 1)
        cycle, pending = 0, 0
        while len(self.finals) < len(self.instructions):
            _, _, valid, more, status = await ctx.tick().sample(
                dut.o.valid, dut.o.payload.more, dut.o.payload.status)
            cycle += 1
            if valid and more:
                pending += 1
            elif valid:
                self.finals.append(cycle)
                self.statuses.append(Status(status))
                self.records.append(pending)
                pending = 0


class TurningSender(wiring.Component):
    """A sentron behind a register that holds its instruction until it is
    answered and turns the pattern's bounds and mask a component on the
    sentron's ``turn`` (``lo`` taking ``component`` on ``replace``), as the
    frame decoder does for the iCEBreaker's."""

    def __init__(self, sentron):
        self.sentron = sentron
        super().__init__({"i": In(stream.Signature(sentron.i.payload.shape())),
                          "o": Out(stream.Signature(sentron.o.payload.shape()))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.sentron = sentron = self.sentron
        held, full = Signal.like(self.i.payload), Signal()
        m.d.comb += [self.i.ready.eq(~full), sentron.i.payload.eq(held), sentron.i.valid.eq(full)]
        with m.If(self.i.valid & ~full):
            m.d.sync += [held.eq(self.i.payload), full.eq(1)]
        with m.If(sentron.i.ready):
            m.d.sync += full.eq(0)
        pattern = held.pattern
        turn_pattern(m, sentron.turn, pattern.lo, pattern.hi, pattern.mask[:DIMS])
        wiring.connect(m, sentron.o, wiring.flipped(self.o))
        return m


_BENCHES = {}      # (sets, ways, sentrons, pipelined) -> _Bench; figures() empties it
# the cuckoo bench forms that are a board's sentron, and the board
BOARD_FORMS = {"spram": "icebreaker", "hx8k": "hx8k", "ulx3s": "ulx3s-85f"}
# the iCEBreaker's sentron behind a sender that turns the held pattern as the
# frame decoder does (its range walk's ``turn``): its range instructions
TURNED = "spram_turned"


def _bench(sets, ways, sentrons=1, pipelined=False, cuckoo=False):
    """The simulator of one sentron (the bare sequencer, ``PipelinedSequencer`` if
    ``pipelined``, ``CuckooSequencer`` of ``sets`` entries if ``cuckoo``, its
    entries in SPRAM's words if that is "spram") or,
    for more, a ``SentronArray``; built on first use."""
    key = (sets, ways, sentrons, pipelined, cuckoo)
    if key not in _BENCHES:
        if cuckoo in BOARD_FORMS or cuckoo == TURNED:
            # a board's sentron as its core builds it: the iCEBreaker's
            # entries in SPRAM's words, the HX8K's store scanned for the range
            # instructions, each key hashed a bit a clock, the instruction
            # held by its sender; the ULX3S's store scanned, registered for
            # its clock
            board = BOARDS[BOARD_FORMS.get(cuckoo, "icebreaker")]
            dut = CuckooSequencer(entries=sets, ops=SENTRON_OPS & board.ops,
                                  **board.memory_options)
            if cuckoo == TURNED:
                dut = TurningSender(dut)
        elif cuckoo == "serial_regions":
            dut = CuckooSequencer(entries=sets, serial_regions=True)
        elif cuckoo == "pipelined":
            dut = CuckooSequencer(entries=sets, pipelined=True)
        elif cuckoo:
            dut = CuckooSequencer(entries=sets)
        elif sentrons > 1:
            dut = SentronArray(sentrons=sentrons, sets=sets, ways=ways, pipelined=pipelined)
        else:
            dut = (PipelinedSequencer if pipelined else Sequencer)(sets=sets, ways=ways)
        _BENCHES[key] = _Bench(dut)
    return _BENCHES[key]


def measure_stream(instructions, *, sets=64, ways=4, sentrons=1, pipelined=False, cuckoo=False,
                   measured_from=0):
    """Run (op, members) instructions back to back; returns (per_clock, latency, statuses).

    One sentron is the bare sequencer (``PipelinedSequencer`` if ``pipelined``);
    more are a ``SentronArray``. The figures are those of the instructions
    from ``measured_from`` on (the ones before set the memory up): their
    answers over the clocks from the first of them to the last, and the
    median of their latencies (an instruction accepted behind a slow one
    waits for it inside the sentron: the median is what one meets in the
    stream)."""
    accepted, answered, statuses, _ = _bench(sets, ways, sentrons, pipelined,
                                             cuckoo).run(instructions)
    first = measured_from
    per_clock = (len(answered) - first) / (answered[-1] - answered[first] + 1)
    # Both are the edges the transfers happen at (a stream transfers at the
    # edge where valid and ready are both high): in at ``accepted``, out at
    # ``answered``. An answer registered at the edge its command came in
    # transfers out at the next edge: 1.
    latency = statistics.median_low(a - b for a, b in zip(answered[first:], accepted[first:]))
    return per_clock, latency, statuses


def measure_range(capacity, *, results=16, fill=0.25, seed=1, nearest=False, cuckoo=False,
                  digest=False):
    """Clocks one CRANGE of ``results`` records takes, in one sentron of
    ``capacity`` slots (4 ways) holding ``fill * capacity`` keys spread over the
    whole coordinate space plus ``results`` keys inside the queried box.

    A CDIGEST of an empty box goes first: it waits for the index to take in
    every queued insert. The CRANGE's clocks are those between the CDIGEST's
    answer and its own final answer: the time it holds the sentron. Returns
    (clocks, records answered, keys stored).

    ``nearest``: a CNEAREST of k = 8 at the box's corner instead, through a
    ``SentronArray`` (its top-k unit ranks a CRANGE of every key).
    ``cuckoo``: one ``CuckooSequencer`` of ``capacity`` entries instead.
    ``digest``: a CDIGEST of the box instead (no records)."""
    rng = random.Random(seed)
    corner = 30000
    cube = [tuple(corner + (i >> b & 1) if b < 4 else corner for b in range(DIMS))
            for i in range(results)]
    others = set()
    while len(others) < int(fill * capacity):
        others.add(tuple(rng.randrange(1 << 16) for _ in range(DIMS)))
    puts = [(Op.CPUT, {"coord": pack(c), "value": n}) for n, c in enumerate(cube)]
    puts += [(Op.CPUT, {"coord": pack(c), "value": n}) for n, c in enumerate(sorted(others))]
    box = _pattern_value(pack((corner,) * DIMS), pack((corner + 1,) * DIMS))
    nowhere = _pattern_value(pack((1,) * DIMS), pack((1,) * DIMS))
    query = ((Op.CNEAREST, {"coord": pack((corner,) * DIMS), "arg": 8}) if nearest
             else (Op.CDIGEST if digest else Op.CRANGE, {"pattern": box}))
    program = puts + [(Op.CDIGEST, {"pattern": nowhere}), query]
    if nearest:
        bench = _Bench(SentronArray(sets=capacity // 4, ways=4))
    else:
        bench = _bench(capacity, 1, cuckoo=cuckoo) if cuckoo else _bench(capacity // 4, 4)
    _, finals, statuses, records = bench.run(program)
    stored = sum(s == Status.OK for s in statuses[:len(puts)])
    assert statuses[-1] == Status.OK
    return finals[-1] - finals[-2], records[-1], stored


def measure_new_keys(entries=8192, window=1024, seed=2, *, sentrons=1, memory=None,
                     index_queue=ZIndex.QUEUE, keys=None):
    """CPUTs of ``keys`` (default ``entries``) new keys back to back into one
    ``CuckooSequencer`` of ``entries`` entries, pipelined unless ``memory``
    (its knobs, as ``rtl.top.VTPU``'s ``memory`` has them) says otherwise:
    its Z-order index links each one in a walk as deep as its tree, and the
    queue in front of it holds ``index_queue``. Returns [(keys stored, new keys
    a clock over the last ``window`` of them)], the sustained rate as the tree
    grows.

    ``sentrons`` > 1: a ``SentronArray`` of that many sharing the ``entries``,
    as a board builds it: each holds its own tree, a share of the keys deep,
    and they link theirs side by side. Give it fewer ``keys`` than entries:
    the sentron whose share is largest would refuse the last ones."""
    memory = dict(pipelined=True) if memory is None else memory
    rng = random.Random(seed)
    chosen = set()
    while len(chosen) < (keys or entries):
        chosen.add(tuple(rng.randrange(1 << 16) for _ in range(DIMS)))
    order = sorted(chosen)
    rng.shuffle(order)
    program = [(Op.CPUT, {"coord": pack(k), "value": n}) for n, k in enumerate(order)]
    if sentrons > 1:
        dut = SentronArray(sentrons=sentrons, memory=dict(memory, entries=entries),
                           index_queue=index_queue)
    else:
        dut = CuckooSequencer(entries=entries, index_queue=index_queue, **memory)
    _, finals, statuses, _ = _Bench(dut).run(program)
    assert all(s == Status.OK for s in statuses)
    return [(end, window / (finals[end - 1] - (finals[end - window - 1] if end > window else 0)))
            for end in range(window, len(order) + 1, window)]


def measure_ckg(*, sentrons=1, cuckoo=False, walks=8):
    """Clocks per hop of ``walks`` CKG walks of MAX_HOPS hops back to back,
    on a chain that every hop finds (person p's "parent" edge holds p - 1):
    the clocks from the answer before the first walk to the last walk's final
    answer, over the hops. Returns (clocks per hop, hops walked)."""
    chain = 40
    edge = lambda p: pack((p, 1) + (0,) * (DIMS - 2))  # noqa: E731
    # every hop: from person (p, 0, ...) to the edge (p, 1, ...)
    step = pack((0, 1) + (0,) * (DIMS - 2))
    deltas = sum(step << (16 * DIMS * n) for n in range(MAX_HOPS))
    puts = [(Op.CPUT, {"coord": edge(p), "value": p - 1}) for p in range(2, chain)]
    starts = [chain - 1 - 2 * w for w in range(walks)]
    program = puts + [(Op.CKG, {"coord": pack((p, 0) + (0,) * (DIMS - 2)), "mode": 0,
                                "arg": MAX_HOPS, "deltas_sent": MAX_HOPS,
                                "deltas": deltas}) for p in starts]
    dut = SentronArray(sentrons=sentrons, sets=64, ways=4,
                       memory=dict(entries=256, pipelined=cuckoo == "pipelined") if cuckoo
                       else None)
    _, finals, statuses, records = _Bench(dut).run(program)
    walked = list(zip(statuses[len(puts):], records[len(puts):]))
    assert all(s == Status.OK and r == MAX_HOPS for s, r in walked), walked
    # The walks follow each other (the hop unit runs one at a time): from the
    # last put's answer to the last walk's.
    return (finals[-1] - finals[len(puts) - 1]) / (walks * MAX_HOPS), walks * MAX_HOPS


def measure_cattend(keys=256, k=8, origin=(512, 768)):
    """Clocks of a CATTEND (DOT) over a box of ``keys`` keys (a grid 16 wide
    from ``origin`` in the last two components), one sentron behind the top-k
    unit: the clocks between a CDIGEST's answer (which waits for the index to
    take in every insert) and the CATTEND's final answer. Returns (clocks, records).

    From an aligned origin every subtree below the grid's corner lies inside
    the box; from another one the subtrees along its edges straddle it, and
    each node there costs the walk two clocks (a node and its
    representative's key, read one after the other)."""
    side, (x, y) = 16, origin
    box_keys = [(500,) * 7 + (x + i % side, y + i // side) for i in range(keys)]
    puts = [(Op.CPUT, {"coord": pack(c), "value": n * 0x0102030405060708 & (1 << 64) - 1})
            for n, c in enumerate(box_keys)]
    box = _pattern_value(pack((500,) * 7 + (x, y)),
                         pack((500,) * 7 + (x + side - 1, y + (keys - 1) // side)))
    nowhere = _pattern_value(pack((1,) * DIMS), pack((1,) * DIMS))
    program = puts + [(Op.CDIGEST, {"pattern": nowhere}),
                      (Op.CATTEND, {"coord": pack(box_keys[0]), "pattern": box, "arg": k,
                                    "mode": 0})]
    # 8 slots a key: with one set a key, the set-associative table refuses
    # one of these keys at 4 slots a key
    _, finals, statuses, records = _Bench(SentronArray(sets=keys, ways=8)).run(program)
    assert statuses[-1] == Status.OK and all(s == Status.OK for s in statuses), statuses[-3:]
    return finals[-1] - finals[-2], records[-1]


def figures(quick=False):
    n = 64 if quick else 256
    rng = random.Random(1)
    keys = [tuple(rng.randrange(1, 9) for _ in range(DIMS)) for _ in range(n // 2)]
    coord = lambda: pack(rng.choice(keys))  # noqa: E731
    out = {}
    setup = [(Op.CPUT, {"coord": coord(), "value": i}) for i in range(n // 4)]
    stored = sorted({members["coord"] for _, members in setup})
    mixes = {
        # hits and misses mixed: half the keys are stored by the earlier puts
        "cput": [(Op.CPUT, {"coord": coord(), "value": i}) for i in range(n)],
        # CPUTs of stored keys only, after the quarter that stores them
        "cput_overwrite": setup + [(Op.CPUT, {"coord": rng.choice(stored), "value": i})
                                   for i in range(n - n // 4)],
        "cget": [(Op.CPUT if i < n // 4 else Op.CGET, {"coord": coord(), "value": i}) for i in range(n)],
        "cdel": [(Op.CPUT if i < n // 4 else Op.CDEL, {"coord": coord(), "value": i}) for i in range(n)],
        "cdelta": [(Op.CDELTA, {"coord": coord(), "delta": rng.getrandbits(16 * DIMS)}) for _ in range(n)],
        "croute": [(Op.CROUTE, {"coord": coord(), "arg": rng.randrange(1, 100), "mode": 0}) for _ in range(n)],
        "cmoe": [(Op.CMOE, {"coord": coord(), "arg": rng.randrange(1, 100)}) for _ in range(n)],
        # CHIER UP of stored coordinates with some components already wildcards
        "chier": [(Op.CHIER, {"pattern": _pattern_value(c, c, rng.getrandbits(DIMS - 1)),
                              "mode": 0}) for c in (coord() for _ in range(n))],
    }
    # the quarter of CPUTs ahead of the CGETs, CDELs and overwrites sets the
    # memory up: the figures are those of the instructions after it
    after_setup = {"cget": n // 4, "cdel": n // 4, "cput_overwrite": n // 4}
    for prefix, pipelined, cuckoo in (("rtl", False, False), ("rtl.pipelined", True, False),
                                      ("rtl.cuckoo", False, True),
                                      ("rtl.cuckoo_pipelined", False, "pipelined"),
                                      ("rtl.cuckoo_spram", False, "spram"),
                                      ("rtl.cuckoo_hx8k", False, "hx8k")):
        for name, stream in mixes.items():
            if cuckoo in BOARD_FORMS and \
                    Op[name.split("_")[0].upper()] not in BOARDS[BOARD_FORMS[cuckoo]].ops:
                continue            # (CROUTE) the board answers BAD_OPCODE
            per_clock, latency, statuses = measure_stream(
                stream, pipelined=pipelined, cuckoo=cuckoo, measured_from=after_setup.get(name, 0),
                **(dict(sets=256) if cuckoo else {}))
            out[f"{prefix}.{name}.per_clock"] = round(per_clock, 4)
            out[f"{prefix}.{name}.latency_clocks"] = latency
            if name in ("cget", "cdel"):
                out[f"{prefix}.{name}.hits"] = sum(
                    s == Status.OK for op, s in zip(stream, statuses) if op[0] != Op.CPUT)
                out[f"{prefix}.{name}.misses"] = sum(s == Status.NOT_FOUND for s in statuses)
    # The HX8K's CROUTE RANGE over all 16 entries of its route table, which
    # CRTSETs fill first (``SerialRoutes``: 19 clocks an entry), after the
    # key's hash a bit a clock and the multiply that every CROUTE takes
    route_rng = random.Random(2)
    bound = lambda: pack(tuple(route_rng.randrange(1, 9) for _ in range(DIMS)))  # noqa: E731
    routes = [(Op.CRTSET, {"mode": i, "coord": bound(), "arg": i}) for i in range(ROUTE_ENTRIES)]
    routes += [(Op.CROUTE, {"coord": bound(), "arg": ROUTE_ENTRIES, "mode": RouteMode.RANGE})
               for _ in range(8)]
    _, latency, statuses = measure_stream(routes, cuckoo="hx8k", sets=256,
                                          measured_from=ROUTE_ENTRIES)
    assert Status.OK in statuses[ROUTE_ENTRIES:], "no CROUTE found its owner"
    out["rtl.cuckoo_hx8k.croute_range.latency_clocks"] = latency
    # CPUTs of new keys only: each is queued for the Z-order index, which links
    # one key per walk; this is the rate the queue drains at, once it is full.
    # 1024 of them: four times the queue, so the figure is the sustained rate.
    fresh = [(Op.CPUT, {"coord": pack(tuple(rng.randrange(1 << 16) for _ in range(DIMS))),
                        "value": i}) for i in range(1024)]
    per_clock, _, _ = measure_stream(fresh, sets=1024)
    out["rtl.cput.new_keys.per_clock"] = round(per_clock, 4)
    # the same into the cuckoo sentron (1024 entries), whose index reads keys
    # from the entry store
    per_clock, _, statuses = measure_stream(fresh, sets=1024, cuckoo=True)
    assert all(s == Status.OK for s in statuses)
    out["rtl.cuckoo.cput.new_keys.per_clock"] = round(per_clock, 4)
    per_clock, _, statuses = measure_stream(fresh, sets=1024, cuckoo="pipelined")
    assert all(s == Status.OK for s in statuses)
    out["rtl.cuckoo_pipelined.cput.new_keys.per_clock"] = round(per_clock, 4)
    # four of them sharing 1024 entries, each linking its share into a tree
    # of its own: 896 new keys, the rate over the second half
    (_, _), (_, rate) = measure_new_keys(1024, window=448, sentrons=4, keys=896)
    out["rtl.cuckoo_pipelined.array4.cput.new_keys.per_clock"] = round(rate, 4)
    if not quick:
        # the rate as the index's tree deepens, up to a full 8192-entry sentron
        for stored, rate in measure_new_keys():
            out[f"rtl.cuckoo_pipelined.cput.new_keys.at{stored}"] = round(rate, 4)
        # and into the ULX3S's memory as its core builds it (its sentrons,
        # their knobs and queues), up to 7/8 of its entries
        board = BOARDS["ulx3s-85f"]
        for stored, rate in measure_new_keys(board.entries, window=board.entries // 8,
                                             sentrons=board.sentrons, memory=board.memory_options,
                                             index_queue=board.index_queue,
                                             keys=board.entries * 7 // 8):
            out[f"rtl.ulx3s-85f.cput.new_keys.at{stored}"] = round(rate, 4)
    # CRANGE with 16 results from tables of growing capacity, a quarter full
    for capacity in ((256, 1024) if quick else (256, 512, 1024, 2048, 4096, 8192)):
        clocks, records, stored = measure_range(capacity)
        out[f"rtl.crange.clocks.cap{capacity}"] = clocks
        out[f"rtl.crange.records.cap{capacity}"] = records
        out[f"rtl.crange.stored.cap{capacity}"] = stored
    # and in the cuckoo sentron, its index testing regions a component a
    # clock (``serial_regions``) or all at once, or scanning its store (the
    # HX8K's sentron, two clocks an entry; the ULX3S's, three)
    for capacity in ((256,) if quick else (256, 4096)):
        for prefix, kind in (("rtl.cuckoo", True), ("rtl.cuckoo_serial_regions", "serial_regions"),
                             ("rtl.cuckoo_hx8k", "hx8k"), ("rtl.cuckoo_ulx3s", "ulx3s")):
            clocks, records, stored = measure_range(capacity, cuckoo=kind)
            out[f"{prefix}.crange.clocks.cap{capacity}"] = clocks
            out[f"{prefix}.crange.records.cap{capacity}"] = records
        # the iCEBreaker's: its CRANGE a pass of the store a record (at 256
        # entries: 4,096 would be 17 passes of 49,152 clocks), its CDIGEST one
        # pass and the hits' hashes
        if capacity == 256:
            clocks, records, _ = measure_range(capacity, cuckoo=TURNED)
            out[f"rtl.cuckoo_spram.crange.clocks.cap{capacity}"] = clocks
            out[f"rtl.cuckoo_spram.crange.records.cap{capacity}"] = records
        clocks, _, _ = measure_range(capacity, cuckoo=TURNED, digest=True)
        out[f"rtl.cuckoo_spram.cdigest.clocks.cap{capacity}"] = clocks
    # CNEAREST (k = 8) at the same capacities: every key is ranked
    for capacity in ((256, 1024) if quick else (256, 512, 1024, 2048, 4096, 8192)):
        clocks, records, stored = measure_range(capacity, nearest=True)
        out[f"rtl.cnearest.clocks.cap{capacity}"] = clocks
        out[f"rtl.cnearest.stored.cap{capacity}"] = stored
    # the sustained rate: what 256 more keys in the box add, past the transient;
    # a box from an aligned corner, and one whose edges cut subtrees
    boxes = (("", (512, 768)),) + (() if quick else ((".offset_box", (600, 700)),))
    for suffix, origin in boxes:
        for keys in (256, 512):
            out[f"rtl.cattend{suffix}.clocks.keys{keys}"], _ = measure_cattend(keys, origin=origin)
        out[f"rtl.cattend{suffix}.clocks_per_key"] = round(
            (out[f"rtl.cattend{suffix}.clocks.keys512"]
             - out[f"rtl.cattend{suffix}.clocks.keys256"]) / 256, 3)
    # The same point mixes through a 4-sentron array: keys spread over the
    # sentrons by hash, answers merged back in order.
    for prefix, pipelined in (("rtl", False), ("rtl.pipelined", True)):
        for name in ("cput", "cget", "cdel"):
            per_clock, latency, _ = measure_stream(mixes[name], sets=16, sentrons=4,
                                                   pipelined=pipelined)
            out[f"{prefix}.array4.{name}.per_clock"] = round(per_clock, 4)
            out[f"{prefix}.array4.{name}.latency_clocks"] = latency
    for prefix, geometry in (("rtl", {}), ("rtl.array4", dict(sentrons=4)),
                             ("rtl.cuckoo", dict(cuckoo=True)),
                             ("rtl.cuckoo_pipelined", dict(cuckoo="pipelined"))):
        out[f"{prefix}.ckg.clocks_per_hop"], out[f"{prefix}.ckg.hops"] = measure_ckg(**geometry)
    _BENCHES.clear()        # the simulators hold every design's state: let them go
    return out


if __name__ == "__main__":
    for key, value in figures().items():
        print(f"{key:32} {value}")
