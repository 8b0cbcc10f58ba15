"""The execution units a sentron's sequencers share, as functions that add their
logic to the caller's module.

Each takes the instruction's registers (``command_layout``) where the calling
pipeline has them and drives the answer (``response_layout``); what differs
between ``Sequencer`` (the iCE40 builds) and ``PipelinedSequencer`` (the ECP5
build) -- which stage, which flags come precomputed -- is a parameter:

==================  ============================================================
``cdelta``          CDELTA: component-wise signed add, OVERFLOW outside 0..2**W-1
``chier``           CHIER UP (DOWN is a range walk)
``croute``          CROUTE HASH from the shared multiply-high; RANGE by ``route_scan``
``route_scan``      the CROUTE RANGE scan over the route table, three or four clocks an entry
``range_walk``      CRANGE, CDIGEST, CHIER DOWN: the Z-order index's walk, records out
==================  ============================================================
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from vtpu.hash import h3_rows
from vtpu.isa import DIGEST_SEED, DIGEST_WIDTH, DIMS, ROUTE_ENTRIES, Dir, Op, RouteMode, Status

from ..layouts import (CHIER_UP_FLAG, command_layout, coord_layout, delta_layout,
                       pattern_turn_signature,
                       hashed_command_layout, response_layout)
from ..replica import replica
from .hash_unit import h3_hash, serial_h3
from .table import entry_layout
from .zorder import merge_pairs, merge_parts, z_parts

__all__ = ["SentronPorts", "SENTRON_OPS", "IMPLEMENTED_OPS", "coord_plus_delta", "RANGE_OPS", "pattern_bad", "first_one", "scans", "goes_to_index",
           "cdelta", "cdelta_sums", "cdelta_overflow", "settled_cdelta", "cdelta_answer", "range_walk", "serial_digest", "chier_up_mask", "chier",
           "chier_up_bounds", "croute", "route_scan"]

# What a sentron (each sequencer) executes.
SENTRON_OPS = frozenset({Op.CGET, Op.CPUT, Op.CDEL, Op.CDELTA, Op.CHIER, Op.CROUTE,
                         Op.CMOE, Op.CRTSET, Op.CRANGE, Op.CDIGEST})

# What this gateware executes (``SentronArray``, ``VTPU``): the sentrons'
# instructions, and CKG, CATTEND and CNEAREST, which units in front of them
# run through them (rtl/hop_unit.py, rtl/topk_unit.py): the whole ISA. A
# build may leave some out; those answer BAD_OPCODE, and the testbenches
# configure the golden model with the same set.
IMPLEMENTED_OPS = SENTRON_OPS | {Op.CKG, Op.CATTEND, Op.CNEAREST}

# Instructions answered from the Z-order index (CHIER DOWN is a CRANGE too).
RANGE_OPS = frozenset({Op.CRANGE, Op.CDIGEST})


class SentronPorts(wiring.Component):
    """What both sequencers share: a table of ``sets`` x ``ways``, the instructions
    they execute (``ops``), decoded instructions in (with the table hash when
    ``hashed``: an array hashes once, before its dispatch) and answers out."""

    def __init__(self, *, sets, ways, width, value_width, seed, ops, hashed, turns=False):
        """``turns``: a ``turn`` output (``pattern_turn_signature``): the sender
        turns the held instruction's pattern a component (``SerialScan``)."""
        assert sets & (sets - 1) == 0 and sets >= 2, "sets must be a power of two >= 2"
        assert frozenset(ops) <= SENTRON_OPS, \
            f"a sentron does not execute {sorted(op.name for op in set(ops) - SENTRON_OPS)}"
        self.sets, self.ways, self.width, self.value_width = sets, ways, width, value_width
        self.seed, self.ops = seed, frozenset(ops)
        self.hashed = hashed
        self.set_bits = sets.bit_length() - 1
        in_layout = (hashed_command_layout if hashed else command_layout)(width, value_width)
        super().__init__({
            "i": In(stream.Signature(in_layout)),
            "o": Out(stream.Signature(response_layout(width, value_width))),
            **({"turn": Out(pattern_turn_signature(width))} if turns else {}),
        })


def pattern_bad(pattern):
    """Whether a range pattern is BAD_ARG: mask bits above the components, or
    lo > hi where not wild."""
    mask = pattern.mask[:DIMS]
    empty_box = Cat(*((pattern.lo[i] > pattern.hi[i]) & ~mask[i] for i in range(DIMS))).any()
    return pattern.mask[DIMS:].any() | empty_box


def first_one(bits):
    """Index of the lowest set bit of a list of 1-bit values (0 if none)."""
    index = Const(0, range(max(2, len(bits))))
    for i in reversed(range(len(bits))):
        index = Mux(bits[i], i, index)
    return index


def scans(c, ops):
    """Whether command ``c`` (status OK), on a sentron executing ``ops``, is a CROUTE RANGE that scans the table."""
    if Op.CROUTE not in ops:
        return Const(0)
    return ((c.op == Op.CROUTE) & (c.arg != 0) & (c.mode == RouteMode.RANGE)
            & (c.arg <= ROUTE_ENTRIES))


def goes_to_index(c, ops, bad_pattern=None):
    """Whether command ``c`` (status OK) is answered from the Z-order index: a
    range instruction or CHIER DOWN, with a good pattern (``bad_pattern``:
    ``pattern_bad``, if worked out already)."""
    ranges = Cat(*(c.op == op for op in RANGE_OPS & ops)).any()
    if Op.CHIER in ops:
        ranges |= (c.op == Op.CHIER) & (c.mode == Dir.DOWN)
    if bad_pattern is None:
        bad_pattern = pattern_bad(c.pattern)
    return ranges & ~bad_pattern


def cdelta(m, c, rsp, width, settled=None):
    """CDELTA: component-wise signed add; OVERFLOW outside 0..2**W-1.
    ``settled``: ``settled_cdelta``'s sums and registered overflow test, for a
    sequencer whose instruction holds still a clock before it is answered."""
    if settled is None:
        sums = [Signal(signed(width + 2), name=f"sum{i}") for i in range(DIMS)]
        m.d.comb += [s.eq(v) for s, v in zip(sums, cdelta_sums(c, width))]
        cdelta_answer(m, sums, None, rsp, width)
    else:
        cdelta_answer(m, *settled, rsp, width)


def settled_cdelta(m, c, width):
    """CDELTA's sums of instruction ``c`` and their overflow test (every sum's
    carry chain, then an OR of their top bits), the test registered every
    clock, off the answer's path: right once ``c`` has held still a clock."""
    sums = [Signal(signed(width + 2), name=f"sum{i}") for i in range(DIMS)]
    m.d.comb += [s.eq(v) for s, v in zip(sums, cdelta_sums(c, width))]
    overflow = Signal(name="cdelta_overflow")
    m.d.sync += overflow.eq(cdelta_overflow(sums, width))
    return sums, overflow


def cdelta_sums(c, width):
    """CDELTA's component sums, each W + 2 bits wide (its carry and sign)."""
    return coord_plus_delta(c.coord, data.View(delta_layout(width), c.operand[:DIMS * width]))


def coord_plus_delta(coord, delta):
    """Component-wise ``coord + delta`` (a ``coord_layout`` and a ``delta_layout``
    view), each sum W + 2 bits wide: in range iff its two bits above W (carry
    and sign) are clear. CDELTA's adder, and each CKG hop's."""
    return [coord[i] + delta[i] for i in range(DIMS)]


def cdelta_overflow(sums, width):
    """Whether a CDELTA's sums leave 0..2**W-1: any of the two bits above W
    (carry and sign) of a component set."""
    return Cat(*(s[width:] for s in sums)).any()


def cdelta_answer(m, sums, overflow, rsp, width):
    """CDELTA's answer from its sums: in range iff the two bits above W (carry
    and sign) of every component are clear (``overflow``: that test, or None
    to make it here)."""
    W = width
    if overflow is None:
        overflow = cdelta_overflow(sums, W)
    m.d.comb += [rsp.status.eq(Mux(overflow, Status.OVERFLOW, Status.OK))]
    m.d.comb += [rsp.coord[i].eq(s[:W]) for i, s in enumerate(sums)]


def range_walk(m, zindex, table_r, active, c3, rsp, out_free, emit, final_taken, held_set,
               way_bits, *, ways, width, value_width, digest=True):
    """CRANGE, CHIER DOWN and CDIGEST: the index streams the slots inside the box
    in Z-order; each slot's row is read from the table (nothing behind the
    instruction uses the read port meanwhile) and the entry answered as a
    record (MORE, through ``emit`` when ``out_free``) or folded into the digest;
    the final answer (in ``rsp``, taken when ``final_taken``) carries the count.
    ``digest``: the sentron answers CDIGEST (in an array the ``DigestUnit`` in
    front of the sentrons does, from a CRANGE: one hash, not one a sentron);
    ``"serial"``: it hashes each entry a bit a clock (``serial_digest``), with the
    entry held on the port meanwhile, instead of in one clock.
    ``active``: the instruction waiting in ``c3`` is one; the port is left
    addressing ``held_set`` at the end.

    Phases: WAIT (for a hit from the index), READ (the hit's row is on the
    port; as it is answered the next hit's read is issued, one record a
    clock), FINAL (the index has ended; the pipeline's row is back on the port)."""
    W, top = width, (1 << width) - 1
    phase = Signal(range(3))
    WAIT, READ, FINAL = 0, 1, 2
    count = Signal(32)
    digest_sum = Signal(DIGEST_WIDTH)
    way = Signal(max(1, way_bits))
    # named signals: the simulator would inline the way select at every digest tap
    entry = Signal(entry_layout(W, value_width))
    m.d.comb += entry.eq(table_r.data[way] if ways > 1 else table_r.data[0])
    # CDIGEST hashes a registered entry, one clock after reading it, in a
    # module of its own: Amaranth's simulator re-evaluates a module's
    # combinational logic whenever any of its inputs changes, and the
    # 64 parity trees would otherwise run on every table read.
    hashed = Signal(entry_layout(W, value_width), reset_less=True)
    adding = Signal()
    # whether the walk is a CDIGEST's
    digesting = c3.op == Op.CDIGEST
    if digest == "serial":
        # from a register (the instruction holds still through the walk):
        # from the held opcode through its decode and the walk's choice into
        # the store's address was 12 of the HX8K's cells
        digesting = Signal()
        m.d.sync += digesting.eq(c3.op == Op.CDIGEST)
        hashing = serial_digest(m, Cat(Value.cast(entry.key), entry.value), digest_sum,
                                start=active & (phase == READ) & digesting)
    elif digest:
        digest_rows = h3_rows(DIGEST_SEED, DIMS * W + value_width, DIGEST_WIDTH)
        entry_digest = Signal(DIGEST_WIDTH)
        m.submodules.digest_hash = digest_hash = Module()
        digest_hash.d.comb += entry_digest.eq(
            h3_hash(Cat(Value.cast(hashed.key), hashed.value), digest_rows))
        with m.If(adding):
            m.d.sync += [digest_sum.eq(digest_sum + entry_digest), adding.eq(0)]
    pattern = c3.pattern
    query, hits = zindex.query, zindex.hits
    if "wild" in query.payload.shape().members:
        # a ``ZScan`` tests the wildcards itself: no 288 multiplexers
        m.d.comb += [query.payload.lo.eq(pattern.lo), query.payload.hi.eq(pattern.hi),
                     query.payload.wild.eq(pattern.mask[:DIMS])]
    else:
        for i in range(DIMS):
            wild = pattern.mask[i]
            m.d.comb += [query.payload.lo[i].eq(Mux(wild, 0, pattern.lo[i])),
                         query.payload.hi[i].eq(Mux(wild, top, pattern.hi[i]))]
    m.d.comb += query.valid.eq(active & (phase == WAIT))
    record = Signal(response_layout(W, value_width))
    m.d.comb += [record.op.eq(c3.op), record.tag.eq(c3.tag), record.status.eq(Status.OK),
                 record.more.eq(1), record.coord.eq(entry.key), record.value.eq(entry.value)]

    def take_hit():
        """Take the index's next hit, if any: read its row, or at the end the
        pipeline's row back."""
        m.d.comb += hits.ready.eq(1)
        with m.If(hits.valid & hits.payload.end):
            m.d.comb += [table_r.addr.eq(held_set), table_r.en.eq(1)]
            m.d.sync += phase.eq(FINAL)
        with m.Elif(hits.valid):
            m.d.comb += [table_r.addr.eq(hits.payload.slot[way_bits:]), table_r.en.eq(1)]
            m.d.sync += [way.eq(hits.payload.slot[:way_bits]), phase.eq(READ)]
        with m.Else():
            m.d.sync += phase.eq(WAIT)

    # CDIGEST adds an entry's hash the clock after its row is read
    final = Signal()
    m.d.comb += final.eq((phase == FINAL) & ~adding)
    with m.If(active):
        with m.Switch(phase):
            with m.Case(WAIT):
                take_hit()
            with m.Case(READ):
                with m.If(digesting if digest else Const(0)):
                    if digest == "serial":
                        # the entry's hash is added as the next hit is taken
                        with m.If(~hashing):
                            m.d.sync += count.eq(count + 1)
                            take_hit()
                    else:
                        m.d.sync += [hashed.eq(entry), adding.eq(1), count.eq(count + 1)]
                        take_hit()
                with m.Elif(out_free):
                    emit(record)
                    m.d.sync += count.eq(count + 1)
                    take_hit()
            with m.Case(FINAL):
                m.d.comb += [rsp.status.eq(Status.OK), rsp.aux.eq(count),
                             rsp.value.eq(Mux(digesting, digest_sum, 0))]
                with m.If(final & final_taken):
                    m.d.sync += [phase.eq(WAIT), count.eq(0), digest_sum.eq(0)]
    return final


def serial_digest(m, bits, digest_sum, *, start):
    """CDIGEST's hash of ``bits`` (the entry: key, then value) a bit a clock
    (``serial_h3``: the columns a ROM, a block RAM's worth of 208 x 64 bits, where
    the one-clock hash is some 2,000 LUT4s), added to ``digest_sum``. ``bits``
    must hold while it works. From the first clock of ``start`` the result is
    busy (``hashing``, returned) until the clock the sum takes the hash:
    ``len(bits) + 1`` clocks later."""
    rows = h3_rows(DIGEST_SEED, len(bits), DIGEST_WIDTH)
    entry_hash, hashing = serial_h3(m, bits, rows, run=start, name="digest_columns")
    with m.If(start & ~hashing):
        m.d.sync += digest_sum.eq(digest_sum + entry_hash)
    return hashing


def table_free_cases(m, c, rsp, ops, *, ranges, reduced, route_w, route_write, width,
                     bad_pattern=None, up_mask=None, routes=None, settled=None):
    """The cases (of a ``Switch`` on ``c.op``) of the instructions that touch no
    table: CDELTA, CHIER (UP; DOWN is the range walk's), the range
    instructions' BAD_ARG check, CMOE (from the multiply-high ``reduced``) and
    CRTSET, which writes the route table when ``route_write`` (or asks
    ``routes``, a ``SerialRoutes``, to). ``bad_pattern``, ``up_mask``: as
    ``chier`` takes them. ``settled``: as ``cdelta`` takes it."""
    if bad_pattern is None:
        bad_pattern = pattern_bad(c.pattern)
    if Op.CDELTA in ops:
        with m.Case(Op.CDELTA):
            cdelta(m, c, rsp, width, settled)
    if Op.CHIER in ops:
        with m.Case(Op.CHIER):
            chier(m, c, rsp, ranges, width, bad_pattern=bad_pattern, up_mask=up_mask)
    for op in sorted(RANGE_OPS & ops):
        with m.Case(op):
            with m.If(bad_pattern):
                m.d.comb += rsp.status.eq(Status.BAD_ARG)
    if Op.CMOE in ops:
        with m.Case(Op.CMOE):
            m.d.comb += [rsp.status.eq(Mux(c.arg == 0, Status.BAD_ARG, Status.OK)),
                         rsp.aux.eq(reduced)]
    if Op.CRTSET in ops:
        with m.Case(Op.CRTSET):
            bad = c.mode >= ROUTE_ENTRIES
            if routes is not None:
                m.d.comb += [rsp.status.eq(Mux(bad, Status.BAD_ARG, Status.OK)),
                             routes.write.eq(~bad)]
            else:
                m.d.comb += [rsp.status.eq(Mux(bad, Status.BAD_ARG, Status.OK)),
                             route_w.addr.eq(c.mode),
                             route_w.data.bound.eq(c.coord),
                             route_w.data.node.eq(c.arg),
                             route_w.en.eq(~bad & route_write)]


def chier_up_mask(mask):
    """CHIER UP's wildcards: ``mask`` and its highest-numbered component that is
    not one (component i turns when every component above it is a wildcard)."""
    return Cat(*(mask[i] | mask[i + 1:].all() for i in range(DIMS)))


def chier(m, c3, rsp, ranges, width, bad_pattern=None, up_mask=None, full_mask=None,
          fields_always=False):
    """UP: the highest-numbered component that is not a wildcard becomes one;
    wildcard components answer with the full range whatever bounds came in.
    DOWN is CRANGE (``range3``); BAD_OPCODE, after the checks that make it
    BAD_ARG, in a build without the range instructions. ``bad_pattern``,
    ``up_mask``, ``full_mask``: ``pattern_bad``, ``chier_up_mask`` and whether
    every component is a wildcard, if worked out already. ``fields_always``:
    the new bounds whatever the status (an error answer carries no payload,
    so they are never sent): no 288-load reset in front of the registers
    taking them."""
    pattern = c3.pattern
    mask = pattern.mask[:DIMS]
    if bad_pattern is None:
        bad_pattern = pattern_bad(pattern)
    bad = (c3.mode > Dir.DOWN) | bad_pattern
    if up_mask is None:
        up_mask = Signal(DIMS)
        m.d.comb += up_mask.eq(chier_up_mask(mask))
    if full_mask is None:
        full_mask = mask.all()
    with m.If(bad | ((c3.mode == Dir.UP) & full_mask)):
        m.d.comb += rsp.status.eq(Status.BAD_ARG)
    with m.Elif(c3.mode == Dir.DOWN):
        if not ranges:
            m.d.comb += rsp.status.eq(Status.BAD_OPCODE)
        # else the index answers it (``range_walk``)
    with m.Else():
        # (the flag in the mask tells the encoder an UP answer from a DOWN one)
        m.d.comb += [rsp.status.eq(Status.OK), rsp.mask.eq(up_mask | CHIER_UP_FLAG)]
        if not fields_always:
            chier_up_bounds(m, pattern, rsp, up_mask, width)
    if fields_always:
        chier_up_bounds(m, pattern, rsp, up_mask, width)


def chier_up_bounds(m, pattern, rsp, up_mask, width):
    """CHIER UP's new bounds: the wildcards' components span the full range."""
    top = (1 << width) - 1
    for i in range(DIMS):
        m.d.comb += [rsp.coord[i].eq(Mux(up_mask[i], 0, pattern.lo[i])),
                     rsp.hi[i].eq(Mux(up_mask[i], top, pattern.hi[i]))]


def croute(m, c3, rsp, route_r, out_free, v3, reduced, width, routes=None):
    """HASH: multiply-high of hash bits [16:32]. RANGE: scan the ownership table
    (or have ``routes``, a ``SerialRoutes``, scan its own)."""
    scan_done = Const(1)
    with m.If(c3.arg == 0):
        m.d.comb += rsp.status.eq(Status.BAD_ARG)
    with m.Elif(c3.mode == RouteMode.HASH):
        m.d.comb += [rsp.status.eq(Status.OK), rsp.aux.eq(reduced)]
    with m.Elif((c3.mode == RouteMode.RANGE) & (c3.arg <= ROUTE_ENTRIES)):
        if routes is not None:
            m.d.comb += routes.scan.eq(1)
            scan_done, found, node = routes.done, routes.found, routes.owner
        else:
            scan_done, found, node = route_scan(m, c3, route_r, v3, out_free, width)
        m.d.comb += [rsp.status.eq(Mux(found, Status.OK, Status.NOT_FOUND)),
                     rsp.aux.eq(node)]
    with m.Else():
        m.d.comb += rsp.status.eq(Status.BAD_ARG)
    return scan_done     # done, when R3 holds a scan (``scan3``)


def route_scan(m, c, route_r, active, taken, width, *, merge_group=0, load_copies=0):
    """CROUTE RANGE over the first ``c.arg`` entries of the ownership table, for
    the instruction ``c`` that waits while ``active``; returns (done, found, node).

    The scan keeps the best entry (greatest Morton bound at or below the
    coordinate, lowest index on ties) in registers and takes three clocks per
    entry, so that no path runs from the table through a 144-bit compare
    into the 160 enables of the kept best: an entry is registered from the
    read port (and the previous one's verdict loads the best); then the
    8-bit slices of its two Z-order compares (with the coordinate and with
    the best) are registered; then they are merged into the two verdicts.
    The route table's read port idles on entry 0, so entry 0 is on the port
    when the instruction starts; the answer comes the clock after the last
    verdicts, 3n + 1 clocks, and the scan starts over once it is ``taken``.
    With ``merge_group`` the slices are merged in two clocks (groups,
    then the groups' results): 4n + 1 clocks.
    """
    W = width
    LOAD, PARTS, MERGE, VERDICT = 0, 1, 2, 3
    phase = Signal(range(4))
    index = Signal(range(ROUTE_ENTRIES + 1))     # the next entry to read
    compared_all = Signal()
    entry = Signal.like(route_r.data, reset_less=True)
    last = Signal()                              # ``entry`` is entry n-1
    qualifies, above_best = Signal(), Signal()   # verdicts on ``entry``
    best_valid = Signal()
    best_bound = Signal(coord_layout(W), reset_less=True)     # meaningful when best_valid
    best_node = Signal(16, reset_less=True)
    # the slices: entry <= coordinate, best < entry
    within_parts = z_parts(entry.bound, c.coord, W)
    above_parts = z_parts(best_bound, entry.bound, W)
    within = [(Signal(name=f"within_less{k}"), Signal(name=f"within_equal{k}"))
              for k in range(len(within_parts))]
    above = [(Signal(name=f"above_less{k}"), Signal(name=f"above_equal{k}"))
             for k in range(len(above_parts))]
    # merge_group: the slices merged a group at a time, a clock before
    # the verdicts (a clock more per entry)
    group = merge_group or 1
    within_groups, above_groups = (
        [(Signal(name=f"{name}_group_less{g}"), Signal(name=f"{name}_group_equal{g}"))
         for g in range(-(-len(parts) // group))] if merge_group else []
        for name, parts in (("within", within_parts), ("above", above_parts)))
    # The slices, and their groups, load on every clock, with no enable: what
    # they are worked out from (the entry, the best, the coordinate) holds
    # still from one LOAD to the next, so in MERGE (VERDICT) they hold this
    # entry's, as if loaded in PARTS (MERGE) alone.
    for flops, parts in ((within, within_parts), (above, above_parts)):
        for (less_r, equal_r), (less, equal) in zip(flops, parts):
            m.d.sync += [less_r.eq(less), equal_r.eq(equal)]
    for groups, flops in ((within_groups, within), (above_groups, above)):
        for g, (less_r, equal_r) in enumerate(groups):
            less, equal = merge_pairs(
                flops[g * merge_group:(g + 1) * merge_group])
            m.d.sync += [less_r.eq(less), equal_r.eq(equal)]
    n = c.arg
    better = qualifies & (~best_valid | above_best)
    # With ``load_copies`` the best loads under flags the verdicts'
    # clock registers (set only for a LOAD that follows), each over a part
    # of the 161 flops: under ``better`` their enables were the scan's state
    # and the verdicts through three LUTs, the ECP5 core clock's slowest path.
    if load_copies:
        loads = [replica(name=f"load_best{k}") for k in range(load_copies)]
        m.d.sync += [load.eq(0) for load in loads]
        dims = range(DIMS)
        loaded = [best_valid.eq(1), *(best_bound[i].eq(entry.bound[i]) for i in dims),
                  best_node.eq(entry.node)]
        per_load = -(-len(loaded) // len(loads))
        for k, load in enumerate(loads):
            with m.If(load):
                m.d.sync += loaded[k * per_load:(k + 1) * per_load]

    def verdicts(q, a):
        m.d.sync += [qualifies.eq(q), above_best.eq(a), compared_all.eq(last), phase.eq(LOAD)]
        if load_copies:
            m.d.sync += [load.eq(q & (~best_valid | a) & ~last) for load in loads]

    with m.If(active & ~compared_all):
        with m.Switch(phase):
            with m.Case(LOAD):
                if not load_copies:
                    with m.If(better):
                        m.d.sync += [best_valid.eq(1), best_bound.eq(entry.bound),
                                     best_node.eq(entry.node)]
                m.d.comb += route_r.addr.eq(index + 1)
                m.d.sync += [entry.eq(route_r.data), last.eq(index == n - 1),
                             index.eq(index + 1), phase.eq(PARTS)]
            with m.Case(PARTS):
                m.d.comb += route_r.addr.eq(index)
                m.d.sync += phase.eq(MERGE)
            with m.Case(MERGE):
                m.d.comb += route_r.addr.eq(index)
                if not merge_group:
                    verdicts(merge_parts(within, or_equal=True), merge_parts(above))
                else:
                    m.d.sync += phase.eq(VERDICT)
            with m.Case(VERDICT):
                m.d.comb += route_r.addr.eq(index)
                verdicts(merge_parts(within_groups, or_equal=True), merge_parts(above_groups))
    with m.Elif(active & taken):
        m.d.sync += [index.eq(0), compared_all.eq(0), qualifies.eq(0), best_valid.eq(0)]
    return (compared_all, best_valid | qualifies, Mux(better, entry.node, best_node))
