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
(``rtl.sentron.pipelined_sequencer``) executes the same instructions with a deeper
pipeline that never stalls, for the ECP5; the two share the table
(``rtl.sentron.table``) and the execution units (``rtl.sentron.execute``).

CRANGE, CDIGEST and CHIER DOWN are answered from a Z-order index of the
table's keys (``rtl.sentron.zindex``): R3 queues every CPUT of a new key and every
CDEL that hits for the index, and a range instruction in R3 waits for the
queue to drain, then takes the slots inside its box from the index in
Z-order, reads each one's entry through the table's read port (idle while the
pipeline waits) and answers it as a record, or adds it to the digest.

A sentron executes ``rtl.sentron.execute.SENTRON_OPS``; CKG runs in front of
the sentrons, in the array's hop unit (rtl/hop_unit.py), and CNEAREST and
CATTEND are not in this gateware yet: they answer BAD_OPCODE, and the
testbenches configure the golden model the same way.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data

from vtpu.hash import h3_rows
from vtpu.isa import COORD_WIDTH, DIMS, HASH_WIDTH, TABLE_SEED, VALUE_WIDTH, Op, Status

from ..layouts import command_layout, response_layout
from .execute import (SENTRON_OPS, RANGE_OPS, SentronPorts, croute, first_one,
                      goes_to_index, range_walk, scans, table_free_cases)
from .hash_unit import HashUnit
from .table import fold_writes, missed_write_layout, route_table, table_ports
from .zindex import ZIndex

__all__ = ["Sequencer"]


class Sequencer(SentronPorts):
    def __init__(self, *, sets=64, ways=4, width=COORD_WIDTH, value_width=VALUE_WIDTH,
                 seed=TABLE_SEED, ops=SENTRON_OPS, hashed=False, index_queue=ZIndex.QUEUE):
        """``index_queue``: the Z-order index's update queue (``ZIndex``'s ``queue``)."""
        super().__init__(sets=sets, ways=ways, width=width, value_width=value_width, seed=seed,
                         ops=ops, hashed=hashed)
        self.index_queue = index_queue

    def elaborate(self, platform):
        m = Module()
        W = self.width
        cmd_shape = command_layout(W, self.value_width)
        rows = h3_rows(self.seed, DIMS * W, HASH_WIDTH)

        table_w, table_r = table_ports(m, sets=self.sets, ways=self.ways, width=W,
                                       value_width=self.value_width)
        route_w, route_r = route_table(m, W)

        # --- pipeline registers ----------------------------------------------
        v1, v2, v3 = Signal(), Signal(), Signal()
        # Data registers have no reset (``reset_less``): only the valid bits say
        # what they hold, and a reset on every flop is a net with thousands of
        # loads (the ECP5's slice LSR pins) for nothing.
        c1, c2, c3 = (Signal(cmd_shape, reset_less=True, name=f"c{k}") for k in (1, 2, 3))
        h2, h3 = (Signal(HASH_WIDTH, reset_less=True) for _ in range(2))
        # The whole hash in one stage, into R1 (``HashUnit``): each H3 bit is a
        # parity of ~72 key bits, four LUT4 levels from the decoder's register,
        # and the mix two more; a separate stage would cost another full
        # instruction register. ``hashed``: the array hashed it once, ahead of
        # its dispatch register.
        advance = Signal()
        if self.hashed:
            h1 = Signal(HASH_WIDTH, reset_less=True)
            with m.If(advance):
                m.d.sync += h1.eq(self.i.payload.hash)
            command_in = Value.cast(self.i.payload)[:cmd_shape.size]
        else:
            m.submodules.hash_unit = hash_unit = HashUnit(rows, key_width=DIMS * W)
            m.d.comb += [hash_unit.key.eq(self.i.payload.coord), hash_unit.en.eq(advance)]
            h1 = hash_unit.hash
            command_in = self.i.payload

        done3 = Signal()          # R3's instruction can answer this cycle
        out_free = ~self.o.valid | self.o.ready
        m.d.comb += [advance.eq(~v3 | (done3 & out_free)), self.i.ready.eq(advance)]

        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(advance):
            m.d.sync += [v1.eq(self.i.valid), c1.eq(command_in),
                         v2.eq(v1), c2.eq(c1), h2.eq(h1),
                         v3.eq(v2), c3.eq(c2), h3.eq(h2)]
        set1, set2, set3 = h1[:self.set_bits], h2[:self.set_bits], h3[:self.set_bits]
        # The row R2 compares is read as the instruction enters R2.
        m.d.comb += [table_r.addr.eq(set1), table_r.en.eq(advance)]
        ranges = bool(self.ops & RANGE_OPS)
        way_bits = (self.ways - 1).bit_length()
        if ranges:
            m.submodules.zindex = zindex = ZIndex(slots=self.sets << way_bits, width=W,
                                                          queue=self.index_queue)

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
        hit, hit_way = hit3.any(), first_one(list(hit3))
        free, free_way = free3.any(), first_one(list(free3))

        # CROUTE HASH and CMOE reduce 16 hash bits to [0, n) by multiply-high;
        # they share one multiplier, fed the slice each opcode names. It runs
        # alongside the pipeline so R3 answers from a register: in R1 the hash
        # bits' product with each byte of n (two 16x8 products), in R2 the
        # sum. On the HX8K (no DSP) the whole 16x16 product into the answer
        # register was the slowest path.
        reduce_bits = Mux(c1.op == Op.CMOE, h1[32:48], h1[16:32])
        product_lo, product_hi = Signal(24, reset_less=True), Signal(24, reset_less=True)
        reduced = Signal(16, reset_less=True)
        with m.If(advance):
            m.d.sync += [product_lo.eq(reduce_bits * c1.arg[:8]),
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
            m.d.sync += [scan3.eq(ok2 & scans(c2, self.ops)), put3.eq(ok2 & (c2.op == Op.CPUT)),
                         del3.eq(ok2 & (c2.op == Op.CDEL))]
            if ranges:
                m.d.sync += range3.eq(ok2 & goes_to_index(c2, self.ops))
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
                table_free_cases(m, c3, rsp, self.ops, ranges=ranges, reduced=reduced,
                                 route_w=route_w, route_write=v3 & out_free, width=W)
                if implemented(Op.CROUTE):
                    with m.Case(Op.CROUTE):
                        scan_done = croute(m, c3, rsp, route_r, out_free, v3, reduced, W)

        range_done = Const(1)
        if ranges:
            def emit(record):
                m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(record)]
            # The pipeline waits while a range instruction borrows the read port;
            # it is given back holding R2's row.
            range_done = range_walk(m, zindex, table_r, v3 & range3, c3, rsp, out_free, emit,
                                    out_free, set2, way_bits, ways=self.ways, width=W,
                                    value_width=self.value_width, digest=Op.CDIGEST in self.ops)
        if Op.CROUTE not in self.ops:
            scan_done = Const(1)
        m.d.comb += done3.eq((~scan3 | scan_done) & (~range3 | range_done) & ~index_stall)

        with m.If(v3 & done3 & out_free):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(rsp)]
        return m
