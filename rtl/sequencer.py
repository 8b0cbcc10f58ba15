"""Sequencer: one sentron's execution pipeline.

Decoded instructions (``command_layout``) in, answers (``response_layout``)
out, with exactly the golden model's statuses and results::

    R1: hash -> set index registered; the table row is read
    R2: the row compared with the key, per way; hit/free/value registered
    R3: status and result from those flops; the table written (one enable
        per way); the answer register loaded

Point instructions (CGET, CPUT, CDEL) and the pure ones (CDELTA, CHIER UP,
CROUTE HASH, CMOE, CRTSET) take one clock each, back to back. An instruction sees
the writes of those ahead of it without a bubble: its row comes from the RAM
two writes late at most (the one landing as it is read, the one R3 makes as
it is compared), and R2 folds those writes (kept as per-way flags worked out
a stage earlier) into its compare; the rest are in the RAM.
Splitting compare (R2) from decide-and-write (R3) keeps both paths short
enough for the UP5K's fabric.

CROUTE RANGE scans the 16-entry ownership table, three clocks per entry, while
the pipeline waits. CROUTE HASH and CMOE multiply as the instruction goes
down the pipeline (a partial product per stage), so R3 answers from flops.

``hashed=True`` (sentrons of an array) takes the table hash with the
instruction (``hashed_command_layout``) instead of hashing the coordinate:
the array hashes once, before its dispatch register, to pick the owner.

This is the compact sentron of the iCE40 builds. ``PipelinedSequencer``
(``rtl.pipelined_sequencer``) executes the same instructions with a deeper
pipeline that never stalls, for the ECP5; the two share the execution helpers
below (``_cdelta``, ``_chier``, ``_route_scan``, ``_range``...).

CRANGE, CDIGEST and CHIER DOWN are answered from a Z-order index of the
table's keys (``rtl.zindex``): R3 queues every CPUT of a new key and every
CDEL that hits for the index, and a range instruction in R3 waits for the
queue to drain, then takes the slots inside its box from the index in
Z-order, reads each one's entry through the table's read port (idle while the
pipeline waits) and answers it as a record, or adds it to the digest.

CNEAREST, CATTEND and CKG are not in this gateware: they answer BAD_OPCODE,
and the testbenches configure the golden model the same way
(``IMPLEMENTED_OPS``).
"""

from types import SimpleNamespace

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vtpu.isa import (COORD_WIDTH, DIGEST_SEED, DIGEST_WIDTH, DIMS, HASH_WIDTH, ROUTE_ENTRIES,
                      TABLE_SEED, VALUE_WIDTH, Dir, Op, RouteMode, Status)

from .hash_unit import h3_hash
from .layouts import (CHIER_UP_FLAG, command_layout, coord_layout, delta_layout,
                      hashed_command_layout, response_layout)
from .replica import replica
from .zindex import ZIndex
from .zorder import merge_pairs, merge_parts, z_parts
from vtpu.hash import h3_rows

__all__ = ["Sequencer", "IMPLEMENTED_OPS", "RANGE_OPS", "entry_layout", "missed_write_layout",
           "fold_writes", "pattern_bad"]

# What this gateware executes; everything else answers BAD_OPCODE, and the
# testbenches configure the golden model with the same set.
IMPLEMENTED_OPS = frozenset({Op.CGET, Op.CPUT, Op.CDEL, Op.CDELTA, Op.CHIER, Op.CROUTE,
                             Op.CMOE, Op.CRTSET, Op.CRANGE, Op.CDIGEST})

# Instructions answered from the Z-order index (CHIER DOWN is a CRANGE too).
RANGE_OPS = frozenset({Op.CRANGE, Op.CDIGEST})


def entry_layout(width=COORD_WIDTH, value_width=VALUE_WIDTH):
    return data.StructLayout({"valid": 1, "key": coord_layout(width), "value": value_width})


def missed_write_layout(ways, value_width):
    """A write a row missed, as the compare folds it in: the ways it wrote in the
    row's set (none if another set), whether it stored the compared key
    (``match``), a CPUT (``put``; a CDEL frees) and the value it stored."""
    return data.StructLayout({"ways": ways, "match": 1, "put": 1, "value": value_width})


def fold_writes(way, hit, free, value, writes):
    """Way ``way``'s hit, free and value bits after ``writes`` (oldest first, each a
    ``missed_write_layout``) land over the row they were compared on."""
    for write in writes:
        here = write.ways[way]
        hit = Mux(here, write.put & write.match, hit)
        free = Mux(here, ~write.put, free)
        value = Mux(here, write.value, value)
    return hit, free, value


def pattern_bad(pattern):
    """Whether a range pattern is BAD_ARG: mask bits above the components, or
    lo > hi where not wild."""
    mask = pattern.mask[:DIMS]
    empty_box = Cat(*((pattern.lo[i] > pattern.hi[i]) & ~mask[i] for i in range(DIMS))).any()
    return pattern.mask[DIMS:].any() | empty_box


def _first_one(bits):
    """Index of the lowest set bit of a list of 1-bit values (0 if none)."""
    index = Const(0, range(max(2, len(bits))))
    for i in reversed(range(len(bits))):
        index = Mux(bits[i], i, index)
    return index


class Sequencer(wiring.Component):
    # CROUTE RANGE: slices merged into a verdict in one clock (0), or a group of
    # this many a clock before (``_route_scan``)
    ROUTE_MERGE_GROUP = 0
    # CROUTE RANGE: the kept best loads under the verdict itself (0), or under
    # this many copies of a flag registered with the verdict (``_route_scan``)
    ROUTE_LOAD_COPIES = 0

    def __init__(self, *, sets=64, ways=4, width=COORD_WIDTH, value_width=VALUE_WIDTH,
                 seed=TABLE_SEED, ops=IMPLEMENTED_OPS, hashed=False):
        assert sets & (sets - 1) == 0 and sets >= 2, "sets must be a power of two >= 2"
        self.sets, self.ways, self.width, self.value_width = sets, ways, width, value_width
        self.seed, self.ops = seed, frozenset(ops)
        self.hashed = hashed
        self.set_bits = sets.bit_length() - 1
        in_layout = (hashed_command_layout if hashed else command_layout)(width, value_width)
        super().__init__({
            "i": In(stream.Signature(in_layout)),
            "o": Out(stream.Signature(response_layout(width, value_width))),
        })

    def elaborate(self, platform):
        m = Module()
        W, top = self.width, (1 << self.width) - 1
        cmd_shape = command_layout(W, self.value_width)
        rows = h3_rows(self.seed, DIMS * W, HASH_WIDTH)

        table_w, table_r, route_w, route_r = self._memories(m)

        # --- pipeline registers ----------------------------------------------
        v1, v2, v3 = Signal(), Signal(), Signal()
        # Data registers have no reset (``reset_less``): only the valid bits say
        # what they hold, and a reset on every flop is a net with thousands of
        # loads (the ECP5's slice LSR pins) for nothing.
        c1, c2, c3 = (Signal(cmd_shape, reset_less=True) for _ in range(3))
        h1, h2, h3 = (Signal(HASH_WIDTH, reset_less=True) for _ in range(3))
        # The whole hash in one stage: each bit is a parity of ~72 key bits, four
        # LUT4 levels from the decoder's register; a separate partial-parity
        # stage would cost another full instruction register. ``hashed``: the
        # array hashed it once, ahead of its dispatch register.
        if self.hashed:
            hash_now = self.i.payload.hash
            command_in = Value.cast(self.i.payload)[:cmd_shape.size]
        else:
            hash_now = h3_hash(Value.cast(self.i.payload.coord), rows)
            command_in = self.i.payload

        done3 = Signal()          # R3's instruction can answer this cycle
        out_free = ~self.o.valid | self.o.ready
        advance = ~v3 | (done3 & out_free)
        m.d.comb += self.i.ready.eq(advance)

        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(advance):
            m.d.sync += [v1.eq(self.i.valid), c1.eq(command_in), h1.eq(hash_now),
                         v2.eq(v1), c2.eq(c1), h2.eq(h1),
                         v3.eq(v2), c3.eq(c2), h3.eq(h2)]
        set1, set2, set3 = h1[:self.set_bits], h2[:self.set_bits], h3[:self.set_bits]
        # The row R2 compares is read as the instruction enters R2.
        m.d.comb += [table_r.addr.eq(set1), table_r.en.eq(advance)]
        ranges = bool(self.ops & RANGE_OPS)
        way_bits = (self.ways - 1).bit_length()
        if ranges:
            m.submodules.zindex = zindex = ZIndex(slots=self.sets << way_bits, width=W)

        # --- R3's write (decided below); what R2 needs to know of it -----------
        # Every write stores the instruction's own entry (valid for CPUT, not
        # for CDEL) into the ways ``write_ways`` selects.
        write_ways = Signal(self.ways)
        writing = Signal(self.ways)
        m.d.comb += [writing.eq(Mux(v3 & done3 & out_free, write_ways, 0)),
                     table_w.addr.eq(set3), table_w.en.eq(writing)]
        for w in range(self.ways):
            m.d.comb += [table_w.data[w].valid.eq(c3.op == Op.CPUT),
                         table_w.data[w].key.eq(c3.coord),
                         table_w.data[w].value.eq(c3.operand[:self.value_width])]

        # --- R1 -> R2: the writes R2's row missed ---------------------------------
        # The row lacks the write landing at the edge it is read (``late``: R3's
        # at the edge the instruction enters R2). Its set and key matches against
        # the instruction are worked out while it is in R1 and kept as flags; R2
        # folds it in after the compare, like the write R3 makes then (``ahead``,
        # the instruction just in front).
        vw = self.value_width
        written = table_w.data[0]      # the entry R3 writes (the same in every way)
        missed = missed_write_layout(self.ways, vw)
        late = Signal(missed)
        with m.If(advance):
            m.d.sync += [late.ways.eq(Mux(v3 & (set3 == set1), writing, 0)),
                         late.match.eq(Value.cast(written.key) == Value.cast(c1.coord)),
                         late.put.eq(written.valid), late.value.eq(written.value)]
        row = table_r.data

        # --- R2: compare the row with the key, per way -------------------------
        # R2 registers per-way hit, free and value bits with the missed writes
        # folded in (newest last), so R3 decides from flops and the
        # compare-to-write path is split at a register.
        same_set = v3 & (set3 == set2)
        ahead = Signal(missed)
        m.d.comb += [ahead.ways.eq(Mux(same_set, writing, 0)),
                     ahead.match.eq(Value.cast(written.key) == Value.cast(c2.coord)),
                     ahead.put.eq(written.valid), ahead.value.eq(written.value)]
        hit3 = Signal(self.ways)
        free3 = Signal(self.ways)
        values3 = Signal(data.ArrayLayout(vw, self.ways), reset_less=True)
        with m.If(advance):
            for w in range(self.ways):
                hit = row[w].valid & (Value.cast(row[w].key) == Value.cast(c2.coord))
                hit, free, value = fold_writes(w, hit, ~row[w].valid, row[w].value, (late, ahead))
                m.d.sync += [hit3[w].eq(hit), free3[w].eq(free), values3[w].eq(value)]

        # --- R3: execute ----------------------------------------------------------
        rsp = Signal(response_layout(W, self.value_width))
        m.d.comb += [rsp.op.eq(c3.op), rsp.tag.eq(c3.tag), rsp.more.eq(0)]
        hit, hit_way = hit3.any(), _first_one(list(hit3))
        free, free_way = free3.any(), _first_one(list(free3))

        # CROUTE HASH and CMOE reduce 16 hash bits to [0, n) by multiply-high;
        # they share one multiplier, fed the slice each opcode names. It runs
        # alongside the pipeline so R3 answers from a register: the hash bits
        # registered with R1, in R1 their product with each byte of n (two
        # 16x8 products), in R2 the sum. On the HX8K (no DSP) the whole 16x16
        # product into the answer register was the slowest path.
        reduce_bits = Signal(16, reset_less=True)   # registered with R1: flops on both sides of a DSP
        product_lo, product_hi = Signal(24, reset_less=True), Signal(24, reset_less=True)
        reduced = Signal(16, reset_less=True)
        with m.If(advance):
            m.d.sync += [reduce_bits.eq(Mux(self.i.payload.op == Op.CMOE,
                                            hash_now[32:48], hash_now[16:32])),
                         product_lo.eq(reduce_bits * c1.arg[:8]),
                         product_hi.eq(reduce_bits * c1.arg[8:]),
                         reduced.eq((product_lo + (product_hi << 8))[16:32])]

        # The instructions that can hold R3 are decoded from R2 and flagged as
        # they enter R3, so that the stall (``advance``: the enable of every
        # pipeline flop and of the table's port) is a gate or two from flops,
        # not R3's opcode decode (on the ECP5 the slowest path ran through it).
        scan3 = Signal()          # a CROUTE RANGE scan
        range3 = Signal()         # CRANGE, CDIGEST, CHIER DOWN with a good pattern
        put3, del3 = Signal(), Signal()
        ok2 = c2.error == Status.OK
        with m.If(advance):
            m.d.sync += [scan3.eq(ok2 & self._scans(c2)), put3.eq(ok2 & (c2.op == Op.CPUT)),
                         del3.eq(ok2 & (c2.op == Op.CDEL))]
            if ranges:
                m.d.sync += range3.eq(ok2 & self._goes_to_index(c2))
        index_stall = Const(0)

        if ranges:
            # A committed CPUT of a new key or CDEL hit is queued for the Z-order
            # index; the instruction waits in R3 while the queue is full.
            inserting = v3 & put3 & ~hit & free
            deleting = v3 & del3 & hit
            update = zindex.update
            m.d.comb += [update.valid.eq((inserting | deleting) & out_free),
                         update.payload.delete.eq(deleting),
                         update.payload.key.eq(c3.coord),
                         update.payload.slot.eq(Cat(Mux(deleting, hit_way, free_way)[:way_bits],
                                                    set3))]
            index_stall = (inserting | deleting) & ~update.ready

        def implemented(op):
            return op in self.ops

        with m.If(c3.error != Status.OK):
            m.d.comb += rsp.status.eq(c3.error)
        with m.Else():
            m.d.comb += rsp.status.eq(Status.BAD_OPCODE)
            with m.Switch(c3.op):
                if implemented(Op.CGET):
                    with m.Case(Op.CGET):
                        m.d.comb += [rsp.status.eq(Mux(hit, Status.OK, Status.NOT_FOUND)),
                                     rsp.value.eq(values3[hit_way])]
                if implemented(Op.CPUT):
                    with m.Case(Op.CPUT):
                        with m.If(hit):
                            m.d.comb += [rsp.status.eq(Status.OK),
                                         write_ways.eq(1 << hit_way)]
                        with m.Elif(free):
                            m.d.comb += [rsp.status.eq(Status.OK),
                                         write_ways.eq(1 << free_way)]
                        with m.Else():
                            m.d.comb += rsp.status.eq(Status.TABLE_FULL)
                if implemented(Op.CDEL):
                    with m.Case(Op.CDEL):
                        with m.If(hit):
                            m.d.comb += [rsp.status.eq(Status.OK),
                                         write_ways.eq(1 << hit_way)]
                        with m.Else():
                            m.d.comb += rsp.status.eq(Status.NOT_FOUND)
                if implemented(Op.CDELTA):
                    with m.Case(Op.CDELTA):
                        self._cdelta(m, c3, rsp)
                if implemented(Op.CHIER):
                    with m.Case(Op.CHIER):
                        self._chier(m, c3, rsp, ranges)
                for op in sorted(RANGE_OPS & self.ops):
                    with m.Case(op):
                        with m.If(pattern_bad(c3.pattern)):
                            m.d.comb += rsp.status.eq(Status.BAD_ARG)
                if implemented(Op.CMOE):
                    with m.Case(Op.CMOE):
                        m.d.comb += [rsp.status.eq(Mux(c3.arg == 0, Status.BAD_ARG, Status.OK)),
                                     rsp.aux.eq(reduced)]
                if implemented(Op.CRTSET):
                    with m.Case(Op.CRTSET):
                        bad = c3.mode >= ROUTE_ENTRIES
                        m.d.comb += [rsp.status.eq(Mux(bad, Status.BAD_ARG, Status.OK)),
                                     route_w.addr.eq(c3.mode),
                                     route_w.data.bound.eq(c3.coord),
                                     route_w.data.node.eq(c3.arg),
                                     route_w.en.eq(v3 & ~bad & out_free)]
                if implemented(Op.CROUTE):
                    with m.Case(Op.CROUTE):
                        scan_done = self._croute(m, c3, rsp, route_r, out_free, v3, reduced)

        range_done = Const(1)
        if ranges:
            def emit(record):
                m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(record)]
            # The pipeline waits while a range instruction borrows the read port;
            # it is given back holding R2's row.
            range_done = self._range(m, zindex, table_r, v3 & range3, c3, rsp, out_free, emit,
                                     out_free, set2, way_bits)
        if Op.CROUTE not in self.ops:
            scan_done = Const(1)
        m.d.comb += done3.eq((~scan3 | scan_done) & (~range3 | range_done) & ~index_stall)

        with m.If(v3 & done3 & out_free):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(rsp)]
        return m

    def _memories(self, m):
        """The table (``sets`` rows of ``ways`` entries) and the route table; returns
        (table write port, table read port, route write port, route read port)."""
        return (*self._table(m), *self._routes(m))

    def _table(self, m):
        """The table: returns (write port, read port). The read port is
        synchronous (``addr``, ``en``, ``data`` a clock later)."""
        W = self.width
        # What the port reads while the other writes the same set never reaches
        # a compare: the pipeline folds that write in over it. So the
        # collision may read anything, and Yosys is told so (``no_rw_check``);
        # otherwise it rebuilds read-old-data in fabric, a registered copy of
        # every write and a multiplexer after the RAM (on the ECP5 ~430 flops a
        # sentron, and the four-sentron build stopped routing). With one way a
        # write covers the whole row; with more, a RAM cell could hold bits of
        # two ways and garble the one not written, so the check stays.
        m.submodules.table = table = Memory(
            shape=data.ArrayLayout(entry_layout(W, self.value_width), self.ways),
            depth=self.sets, init=[], attrs={"no_rw_check": 1} if self.ways == 1 else None)
        # One write enable per way: a write touches only its own way, so no
        # stage has to carry the whole row to write it back.
        table_w = table.write_port(granularity=1)
        # The read port is asynchronous in the netlist and registered here (the
        # same clock as a synchronous port): Yosys merges this register into the
        # block RAM's port and only then applies ``no_rw_check``. A port that is
        # already synchronous keeps its read-old-data rule whatever the
        # attribute says. ``table_r`` is the registered port the pipeline uses.
        table_async = table.read_port(domain="comb")
        table_r = SimpleNamespace(addr=Signal(self.set_bits), en=Signal(),
                                  data=Signal(table_async.data.shape(), reset_less=True))
        m.d.comb += table_async.addr.eq(table_r.addr)
        with m.If(table_r.en):
            m.d.sync += table_r.data.eq(table_async.data)
        return table_w, table_r

    def _routes(self, m):
        """The route table: returns (write port, read port)."""
        W = self.width
        m.submodules.routes = routes = Memory(
            shape=data.StructLayout({"bound": coord_layout(W), "node": 16}),
            depth=ROUTE_ENTRIES, init=[])
        route_w = routes.write_port()
        route_r = routes.read_port(transparent_for=(route_w,))
        return route_w, route_r

    def _scans(self, c):
        """Whether command ``c`` (status OK) is a CROUTE RANGE that scans the table."""
        if Op.CROUTE not in self.ops:
            return Const(0)
        return ((c.op == Op.CROUTE) & (c.arg != 0) & (c.mode == RouteMode.RANGE)
                & (c.arg <= ROUTE_ENTRIES))

    def _goes_to_index(self, c):
        """Whether command ``c`` (status OK) is answered from the Z-order index: a
        range instruction or CHIER DOWN, with a good pattern."""
        ranges = Cat(*(c.op == op for op in RANGE_OPS & self.ops)).any()
        if Op.CHIER in self.ops:
            ranges |= (c.op == Op.CHIER) & (c.mode == Dir.DOWN)
        return ranges & ~pattern_bad(c.pattern)

    def _cdelta(self, m, c, rsp):
        """CDELTA: component-wise signed add; OVERFLOW outside 0..2**W-1."""
        sums = [Signal(signed(self.width + 2), name=f"sum{i}") for i in range(DIMS)]
        m.d.comb += [s.eq(v) for s, v in zip(sums, self._cdelta_sums(c))]
        self._cdelta_answer(m, sums, rsp)

    def _cdelta_sums(self, c):
        """CDELTA's component sums, each W + 2 bits wide (its carry and sign)."""
        delta = data.View(delta_layout(self.width), c.operand[:DIMS * self.width])
        return [c.coord[i] + delta[i] for i in range(DIMS)]

    def _cdelta_answer(self, m, sums, rsp):
        """CDELTA's answer from its sums: in range iff the two bits above W (carry
        and sign) of every component are clear."""
        W = self.width
        overflow = Cat(*(s[W:] for s in sums)).any()
        m.d.comb += [rsp.status.eq(Mux(overflow, Status.OVERFLOW, Status.OK))]
        m.d.comb += [rsp.coord[i].eq(s[:W]) for i, s in enumerate(sums)]

    def _range(self, m, zindex, table_r, active, c3, rsp, out_free, emit, final_taken, held_set,
               way_bits):
        """CRANGE, CHIER DOWN and CDIGEST: the index streams the slots inside the box
        in Z-order; each slot's row is read from the table (nothing behind the
        instruction uses the read port meanwhile) and the entry answered as a
        record (MORE, through ``emit`` when ``out_free``) or folded into the digest;
        the final answer (in ``rsp``, taken when ``final_taken``) carries the count.
        ``active``: the instruction waiting in ``c3`` is one; the port is left
        addressing ``held_set`` at the end.

        Phases: WAIT (for a hit from the index), READ (the hit's row is on the
        port), FINAL (the index has ended; the pipeline's row is back on the port)."""
        W, top = self.width, (1 << self.width) - 1
        phase = Signal(range(3))
        WAIT, READ, FINAL = 0, 1, 2
        count = Signal(32)
        digest = Signal(DIGEST_WIDTH)
        way = Signal(max(1, way_bits))
        # named signals: the simulator would inline the way select at every digest tap
        entry = Signal(entry_layout(W, self.value_width))
        m.d.comb += entry.eq(table_r.data[way] if self.ways > 1 else table_r.data[0])
        digest_rows = h3_rows(DIGEST_SEED, DIMS * W + self.value_width, DIGEST_WIDTH)
        # CDIGEST hashes a registered entry, one clock after reading it, in a
        # module of its own: Amaranth's simulator re-evaluates a module's
        # combinational logic whenever any of its inputs changes, and the
        # 64 parity trees would otherwise run on every table read.
        hashed = Signal(entry_layout(W, self.value_width), reset_less=True)
        adding = Signal()
        entry_digest = Signal(DIGEST_WIDTH)
        m.submodules.digest_hash = digest_hash = Module()
        digest_hash.d.comb += entry_digest.eq(
            h3_hash(Cat(Value.cast(hashed.key), hashed.value), digest_rows))
        with m.If(adding):
            m.d.sync += [digest.eq(digest + entry_digest), adding.eq(0)]
        pattern = c3.pattern
        query, hits = zindex.query, zindex.hits
        for i in range(DIMS):
            wild = pattern.mask[i]
            m.d.comb += [query.payload.lo[i].eq(Mux(wild, 0, pattern.lo[i])),
                         query.payload.hi[i].eq(Mux(wild, top, pattern.hi[i]))]
        m.d.comb += query.valid.eq(active & (phase == WAIT))
        record = Signal(response_layout(W, self.value_width))
        m.d.comb += [record.op.eq(c3.op), record.tag.eq(c3.tag), record.status.eq(Status.OK),
                     record.more.eq(1), record.coord.eq(entry.key), record.value.eq(entry.value)]

        with m.If(active):
            with m.Switch(phase):
                with m.Case(WAIT):
                    m.d.comb += hits.ready.eq(1)
                    with m.If(hits.valid & hits.payload.end):
                        m.d.comb += [table_r.addr.eq(held_set), table_r.en.eq(1)]
                        m.d.sync += phase.eq(FINAL)
                    with m.Elif(hits.valid):
                        m.d.comb += [table_r.addr.eq(hits.payload.slot[way_bits:]),
                                     table_r.en.eq(1)]
                        m.d.sync += [way.eq(hits.payload.slot[:way_bits]), phase.eq(READ)]
                with m.Case(READ):
                    with m.If(c3.op == Op.CDIGEST):
                        # added next clock (WAIT); FINAL comes a clock later at the earliest
                        m.d.sync += [hashed.eq(entry), adding.eq(1), count.eq(count + 1),
                                     phase.eq(WAIT)]
                    with m.Elif(out_free):
                        emit(record)
                        m.d.sync += [count.eq(count + 1), phase.eq(WAIT)]
                with m.Case(FINAL):
                    m.d.comb += [rsp.status.eq(Status.OK), rsp.aux.eq(count),
                                 rsp.value.eq(Mux(c3.op == Op.CDIGEST, digest, 0))]
                    with m.If(final_taken):
                        m.d.sync += [phase.eq(WAIT), count.eq(0), digest.eq(0)]
        return phase == FINAL

    @staticmethod
    def _up_mask(mask):
        """CHIER UP's wildcards: ``mask`` and its highest-numbered component that is
        not one (component i turns when every component above it is a wildcard)."""
        return Cat(*(mask[i] | mask[i + 1:].all() for i in range(DIMS)))

    def _chier(self, m, c3, rsp, ranges, bad_pattern=None, up_mask=None, full_mask=None,
               fields_always=False):
        """UP: the highest-numbered component that is not a wildcard becomes one;
        wildcard components answer with the full range whatever bounds came in.
        DOWN is CRANGE (``range3``); BAD_OPCODE, after the checks that make it
        BAD_ARG, in a build without the range instructions. ``bad_pattern``,
        ``up_mask``, ``full_mask``: ``pattern_bad``, ``_up_mask`` and whether
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
            m.d.comb += up_mask.eq(self._up_mask(mask))
        if full_mask is None:
            full_mask = mask.all()
        with m.If(bad | ((c3.mode == Dir.UP) & full_mask)):
            m.d.comb += rsp.status.eq(Status.BAD_ARG)
        with m.Elif(c3.mode == Dir.DOWN):
            if not ranges:
                m.d.comb += rsp.status.eq(Status.BAD_OPCODE)
            # else the index answers it (``_range``)
        with m.Else():
            # (the flag in the mask tells the encoder an UP answer from a DOWN one)
            m.d.comb += [rsp.status.eq(Status.OK), rsp.mask.eq(up_mask | CHIER_UP_FLAG)]
            if not fields_always:
                self._chier_up_bounds(m, pattern, rsp, up_mask)
        if fields_always:
            self._chier_up_bounds(m, pattern, rsp, up_mask)

    def _chier_up_bounds(self, m, pattern, rsp, up_mask):
        """CHIER UP's new bounds: the wildcards' components span the full range."""
        top = (1 << self.width) - 1
        for i in range(DIMS):
            m.d.comb += [rsp.coord[i].eq(Mux(up_mask[i], 0, pattern.lo[i])),
                         rsp.hi[i].eq(Mux(up_mask[i], top, pattern.hi[i]))]

    def _croute(self, m, c3, rsp, route_r, out_free, v3, reduced):
        """HASH: multiply-high of hash bits [16:32]. RANGE: scan the ownership table."""
        scan_done = Const(1)
        with m.If(c3.arg == 0):
            m.d.comb += rsp.status.eq(Status.BAD_ARG)
        with m.Elif(c3.mode == RouteMode.HASH):
            m.d.comb += [rsp.status.eq(Status.OK), rsp.aux.eq(reduced)]
        with m.Elif((c3.mode == RouteMode.RANGE) & (c3.arg <= ROUTE_ENTRIES)):
            scan_done, found, node = self._route_scan(m, c3, route_r, v3, out_free)
            m.d.comb += [rsp.status.eq(Mux(found, Status.OK, Status.NOT_FOUND)),
                         rsp.aux.eq(node)]
        with m.Else():
            m.d.comb += rsp.status.eq(Status.BAD_ARG)
        return scan_done     # done, when R3 holds a scan (``scan3``)

    def _route_scan(self, m, c, route_r, active, taken):
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
        With ``ROUTE_MERGE_GROUP`` the slices are merged in two clocks (groups,
        then the groups' results): 4n + 1 clocks.
        """
        W = self.width
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
        # ROUTE_MERGE_GROUP: the slices merged a group at a time, a clock before
        # the verdicts (a clock more per entry)
        group = self.ROUTE_MERGE_GROUP or 1
        within_groups, above_groups = (
            [(Signal(name=f"{name}_group_less{g}"), Signal(name=f"{name}_group_equal{g}"))
             for g in range(-(-len(parts) // group))] if self.ROUTE_MERGE_GROUP else []
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
                    flops[g * self.ROUTE_MERGE_GROUP:(g + 1) * self.ROUTE_MERGE_GROUP])
                m.d.sync += [less_r.eq(less), equal_r.eq(equal)]
        n = c.arg
        better = qualifies & (~best_valid | above_best)
        # With ``ROUTE_LOAD_COPIES`` the best loads under flags the verdicts'
        # clock registers (set only for a LOAD that follows), each over a part
        # of the 161 flops: under ``better`` their enables were the scan's state
        # and the verdicts through three LUTs, the ECP5 core clock's slowest path.
        if self.ROUTE_LOAD_COPIES:
            loads = [replica(name=f"load_best{k}") for k in range(self.ROUTE_LOAD_COPIES)]
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
            if self.ROUTE_LOAD_COPIES:
                m.d.sync += [load.eq(q & (~best_valid | a) & ~last) for load in loads]

        with m.If(active & ~compared_all):
            with m.Switch(phase):
                with m.Case(LOAD):
                    if not self.ROUTE_LOAD_COPIES:
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
                    if not self.ROUTE_MERGE_GROUP:
                        verdicts(merge_parts(within, or_equal=True), merge_parts(above))
                    else:
                        m.d.sync += phase.eq(VERDICT)
                with m.Case(VERDICT):
                    m.d.comb += route_r.addr.eq(index)
                    verdicts(merge_parts(within_groups, or_equal=True), merge_parts(above_groups))
        with m.Elif(active & taken):
            m.d.sync += [index.eq(0), compared_all.eq(0), qualifies.eq(0), best_valid.eq(0)]
        return (compared_all, best_valid | qualifies, Mux(better, entry.node, best_node))
