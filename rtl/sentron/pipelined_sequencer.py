"""PipelinedSequencer: the sentron pipeline that never stalls (the pipelined ULX3S build).

It executes the same instructions as ``Sequencer``, with the same statuses and
results as the golden model. Only the control is different.

``Sequencer`` stalls. One enable (``advance``) holds every pipeline flop, and
the table's port, whenever the answer cannot leave. At 125 MHz on an ECP5
that enable was the limit: its fanout is about 1000 flops, and the decode in
front of it is deep. Here nothing waits on the consumer::

    S1  the instruction is registered; the table's read address comes from
        here. Its key is compared, one 16-bit slice at a time, with the keys
        of the four instructions ahead of it.
    S2  the row is read (into the block RAM's own register); the slice
        matches are ANDed. The writes of the instructions five (if any) and
        four ahead are folded together, as far as they can be without the
        key compares.
    S3  the row is registered and compared with the key, one slice at a time.
        The write of the instruction three ahead is folded over those two.
        Responses that need no table (CDELTA, CHIER UP, the
        statuses of CMOE, CROUTE, CRTSET and of the decoder's errors) are
        worked out.
    S4  the slices are ANDed into hit/free per way; the write made by the
        instruction two ahead is folded in.
    S5  the write made by the instruction just ahead is folded in. The
        instruction decides and puts its answer into the answer FIFO; its
        write goes into registers beside the block RAMs and lands at the next
        clock edge (with the range instructions, which read the table from S5,
        it is written at once).

**Flow control is by credits.** An instruction is accepted only while the
answer FIFO (``answers`` deep) has a slot that no instruction in flight has
claimed, so an answer never waits for the consumer. ``i.ready`` is a flop.
With ``slack`` (in an array, whose dispatcher reads ``ready`` late), ``ready``
promises room for that many more, and an instruction offered is taken
without looking at it. With ``answer_domain`` the answer FIFO is a
``CreditFIFO`` read on that clock, and a slot comes back when the FIFO's level,
as the sentron's side sees it, falls behind what was written.

A sentron that executes only CGET, CPUT and CDEL keeps only the fields
those answer with in its FIFO (op, tag, status, more, value: 85 of 421 bits).

**Missed writes.** A row read at the end of S1 lacks five writes: the one
landing as it is read, and the next four, each decided by one of the five
instructions ahead (a write is decided at the end of S5, one per clock, and
lands a clock later; four when it lands at once). The key and set of each
of them are compared with the instruction's own while it is in S1 (its key
is known then; whether they write is not yet): the fifth's are in the write
registers. Each write is recorded (``wlast``) as it is decided, and folded in
after the compare, newest last, so every path starts and ends at a flop.

**Multi-clock instructions.** A CROUTE RANGE scan, and CRANGE, CDIGEST and
CHIER DOWN from the Z-order index, stop the intake as they are accepted,
and the intake reopens once they have answered. The range instructions wait
in S5 with nothing behind them; a scan is handed from S5 to a unit of its
own, which answers when it is done, so without the range instructions (the
pipelined ULX3S build) S5 never holds. Each record of a range answer claims a credit of
its own. The Z-order index's update queue is kept from filling by closing the
intake while it is ``crowded``. Nothing downstream ever has to stop the
pipeline.

On one clock the answer FIFO's output comes from distributed RAM, not a
register: a consumer far away (the array's collector) should take it through
a register slice whose ready is a flop (``SkidBuffer``), so the FIFO is
popped by a flop next to it. Across clocks (``CreditFIFO``) it comes from the
RAM's read register.

Cost against ``Sequencer``: two more stages (latency 5 clocks from accept to
answer valid, not 3, for every instruction: answers leave in order), the
answer FIFO (distributed RAM on the ECP5), and the slice comparators. None of
this fits an iCE40 UP5K, so the iCE40 builds keep ``Sequencer``.
"""

from types import SimpleNamespace

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import data
from amaranth.lib.fifo import SyncFIFO

from vtpu.hash import h3_rows
from vtpu.isa import (COORD_WIDTH, DIMS, HASH_WIDTH, ROUTE_ENTRIES, TABLE_SEED, VALUE_WIDTH, Dir,
                      Op, RouteMode, Status)

from ..layouts import command_layout, response_layout
from ..link.credit_fifo import CreditFIFO
from ..replica import replica
from .execute import (SENTRON_OPS, RANGE_OPS, SentronPorts, cdelta_answer, cdelta_sums, chier,
                      chier_up_mask, first_one, pattern_bad, range_walk, route_scan)
from .hash_unit import table_hash
from .multiply import MultiplyHigh
from .table import (entry_layout, fold_writes, missed_write_layout, route_table, table_groups,
                    table_ports)
from .zindex import ZIndex

__all__ = ["PipelinedSequencer", "AHEAD", "LATENCY", "one_hot", "may_wait"]

AHEAD = 4          # writes a row misses when the table is written in S5 (one more when late)
LATENCY = 5        # clocks from an instruction accepted to its answer valid (its transfer out: one more)
SLICE = 16         # key bits per slice compare (four LUT4s of pairs, then one AND4)


def may_wait(c, ops):
    """Whether command ``c`` may hold a ``PipelinedSequencer`` executing ``ops`` for
    more than a clock: a superset of the exact tests of S3, since the intake
    stays shut until it has answered."""
    waits = Const(0)
    if Op.CROUTE in ops:
        waits |= (c.op == Op.CROUTE) & (c.mode == RouteMode.RANGE)
    if ops & RANGE_OPS:
        waits |= Cat(*(c.op == op for op in RANGE_OPS & ops)).any()
        if Op.CHIER in ops:
            waits |= (c.op == Op.CHIER) & (c.mode == Dir.DOWN)
    return waits & (c.error == Status.OK)


def slice_matches(a, b):
    """Per 16-bit slice of two keys, whether they are equal (a bit each)."""
    a, b = Value.cast(a), Value.cast(b)
    return Cat(*(a[i:i + SLICE] == b[i:i + SLICE] for i in range(0, len(a), SLICE)))


class PipelinedSequencer(SentronPorts):
    """``Sequencer``'s ports and instructions; ``answers``: depth of the answer FIFO
    (and the most instructions in flight)."""

    # The merge of a CROUTE RANGE entry's 18 compare slices into its verdict was
    # the ECP5 core clock's slowest path (nine LUTs deep, 92.58 MHz): it takes
    # two clocks here, groups of five and then the groups (4n + 1 clocks).
    ROUTE_MERGE_GROUP = 5
    # The kept best loads under this many copies of a flag registered with the
    # verdicts (``route_scan``'s ``load_copies``), not under the verdicts.
    ROUTE_LOAD_COPIES = 4

    # The ECP5's DP16KD is 9 bits wide at 2048 rows: a group of the table's
    # memories (``table_groups``) takes whole block RAMs.
    TABLE_COLUMN = 9

    def __init__(self, *, sets=64, ways=4, width=COORD_WIDTH, value_width=VALUE_WIDTH,
                 seed=TABLE_SEED, ops=SENTRON_OPS, hashed=False, answers=16,
                 answer_domain="sync", slack=0, table_groups=1, index_queue=ZIndex.QUEUE):
        # the credits must cover the round trip (accept, answer, take, slot back)
        assert answers > LATENCY + 2, "too few answer slots for one instruction per clock"
        assert answer_domain == "sync" or answers & (answers - 1) == 0, \
            "an answer FIFO across clocks is a power of two deep"
        self.answers = answers
        self.answer_domain = answer_domain
        self.slack = slack
        self.table_groups = table_groups
        super().__init__(sets=sets, ways=ways, width=width, value_width=value_width, seed=seed,
                         ops=ops, hashed=hashed)
        self.index_queue = index_queue    # the Z-order index's update queue
        assert table_groups == 1 or (self.ways == 1 and not self.ops & RANGE_OPS), \
            "the table splits into groups only with one way and without the range instructions"

    @property
    def answer_fields(self):
        """The answer fields this sentron sends (the others are always 0). One
        that executes only CGET, CPUT and CDEL (in an array without range
        instructions, every sentron but the one that executes the rest)
        answers with a value and a status: its FIFO stores those fields only,
        85 of the 421 bits."""
        if self.ops <= {Op.CGET, Op.CPUT, Op.CDEL}:
            return ("op", "tag", "status", "more", "value")
        return tuple(name for name, _ in response_layout(self.width, self.value_width))

    def elaborate(self, platform):
        m = Module()
        W, vw = self.width, self.value_width
        cmd_shape = command_layout(W, vw)
        rsp_shape = response_layout(W, vw)
        ranges = bool(self.ops & RANGE_OPS)
        way_bits = (self.ways - 1).bit_length()

        # Without the range instructions (which read the table from S5) the
        # table is written a clock after S5 decides, from registers: S5's
        # decision was four LUTs and a route to every one of the sentron's block
        # RAMs. A row then misses a fifth write, that of the instruction whose
        # write is in those registers as the row is read.
        late_write = not ranges
        groups = self.table_groups
        if groups > 1:
            table_ws, table_addrs, table_row = table_groups(
                m, groups, sets=self.sets, width=W, value_width=vw, column=self.TABLE_COLUMN)
        else:
            table_w, table_r = table_ports(m, sets=self.sets, ways=self.ways, width=W,
                                           value_width=vw)
            table_row = table_r.data
        route_w, route_r = route_table(m, W)
        crossing = self.answer_domain != "sync"
        stored = data.StructLayout({name: rsp_shape[name].shape for name in self.answer_fields})
        if crossing:
            # written only under credits: no full test on the write side
            answers = CreditFIFO(width=stored.size, depth=self.answers,
                                 w_domain="sync", r_domain=self.answer_domain)
        else:
            answers = SyncFIFO(width=stored.size, depth=self.answers)
        m.submodules.answers = answers
        answer_in = Signal(rsp_shape)       # what S5 (or a range record) writes
        m.d.comb += answers.w_data.eq(Cat(*(answer_in[name] for name, _ in stored)))
        answer_out = data.View(stored, answers.r_data)
        m.d.comb += [self.o.valid.eq(answers.r_rdy), answers.r_en.eq(self.o.ready)]
        m.d.comb += [self.o.payload[name].eq(answer_out[name]) for name, _ in stored]
        if ranges:
            m.submodules.zindex = zindex = ZIndex(slots=self.sets << way_bits, width=W,
                                                          queue=self.index_queue)

        # --- stage registers -----------------------------------------------------
        # Data registers have no reset: the valid bits say what they hold.
        stages = range(1, 6)
        v = {s: Signal(name=f"v{s}") for s in stages}
        c = {s: Signal(cmd_shape, reset_less=True, name=f"c{s}") for s in stages}
        h = {s: Signal(HASH_WIDTH, reset_less=True, name=f"h{s}") for s in stages}
        waits = {s: Signal(name=f"waits{s}") for s in stages}   # ``_may_wait``
        sets = {s: h[s][:self.set_bits] for s in stages}

        # The pattern test (nine 16-bit magnitude compares ORed) is worked out
        # before S1 and carried to S2's decode: in S2 it was eight LUTs deep.
        bad_pattern = {s: Signal(name=f"bad_pattern{s}") for s in (1, 2)}
        if self.hashed:
            # the array hashed and decoded it, ahead of its dispatch register
            hash_in, waits_in = self.i.payload.hash, self.i.payload.waits
            bad_pattern_in = self.i.payload.pattern_bad
            command_in = Value.cast(self.i.payload)[:cmd_shape.size]
        else:
            hash_in = table_hash(m, Value.cast(self.i.payload.coord),
                                 h3_rows(self.seed, DIMS * W, HASH_WIDTH))
            waits_in = may_wait(self.i.payload, self.ops)
            bad_pattern_in = pattern_bad(self.i.payload.pattern)
            command_in = self.i.payload

        ready = Signal(init=1)             # i.ready: a flop (out of reset there is room)
        m.d.comb += self.i.ready.eq(ready)
        # With ``slack``, whoever sends acts on ``ready`` some clocks late and
        # never sends while it saw it low: an instruction offered is taken.
        accept = self.i.valid if self.slack else self.i.valid & ready
        hold5 = Signal()                   # S5 keeps its instruction (only waiting ones do)
        m.d.sync += v[1].eq(accept)
        reduce_bits = Signal(16, reset_less=True)     # CMOE's or CROUTE HASH's hash bits
        s1 = [c[1].eq(command_in), h[1].eq(hash_in), waits[1].eq(waits_in),
              bad_pattern[1].eq(bad_pattern_in),
              reduce_bits.eq(Mux(self.i.payload.op == Op.CMOE, hash_in[32:48], hash_in[16:32]))]
        if groups > 1:
            # A copy of the row's address by each group of block RAMs: from one
            # register it crossed all of a sentron's 24 DP16KDs (8.78 ns, one net).
            read_sets = [replica(self.set_bits, reset_less=True, name=f"read_set{g}")
                         for g in range(groups)]
            s1 += [read_set.eq(hash_in[:self.set_bits]) for read_set in read_sets]
        if self.slack:
            # The sender's register is this sentron's own (``SentronArray``'s
            # links), so S1 can load on every clock: no enable over its flops.
            m.d.sync += s1
        else:
            # S1 loads on this sentron's own valid. Loaded on every clock, the S1
            # registers of the sentrons of an array would be copies of one another
            # (they all see the dispatch register), and Yosys would merge them, and
            # the stages after them, into one pipeline shared by every sentron, with
            # each stage's buses crossing the chip to the sentrons' block RAMs.
            with m.If(self.i.valid):
                m.d.sync += s1
        for s in (2, 3, 4):
            m.d.sync += [v[s].eq(v[s - 1]), c[s].eq(c[s - 1]), h[s].eq(h[s - 1]),
                         waits[s].eq(waits[s - 1])]
        m.d.sync += bad_pattern[2].eq(bad_pattern[1])
        with m.If(~hold5):
            # Behind a waiting instruction the stages are empty: nothing is lost.
            m.d.sync += [v[5].eq(v[4]), c[5].eq(c[4]), h[5].eq(h[4]), waits[5].eq(waits[4])]

        # The row is read as the instruction leaves S1. A range instruction in S5
        # borrows the port (nothing is behind it): it reads where it wants and
        # the port holds the entry read while its record waits for a credit.
        range5 = Signal()
        if groups > 1:
            m.d.comb += [addr.eq(read_set) for addr, read_set in zip(table_addrs, read_sets)]
        else:
            m.d.comb += [table_r.addr.eq(sets[1]), table_r.en.eq(~range5)]

        # --- S1 .. S3: how this instruction's key and set relate to those ahead -----
        ahead = AHEAD + late_write
        # n = 1 .. ahead: the instruction n places ahead (in stage 1 + n now;
        # "stage 6" is the write registers).
        pairs = range(1, ahead + 1)
        # Stage s compares with those still ahead of it that write after its row
        # was read: in S3 those five (or four) to three ahead (S2 keeps the first),
        # in S4 the one two ahead, in S5 the one just ahead.
        keeps = {2: ahead, 3: ahead, 4: 2, 5: 1}
        slices2 = {n: Signal(len(slice_matches(c[1].coord, c[1].coord)), name=f"key_slices{n}")
                   for n in pairs}
        ahead_key = {n: c[1 + n].coord for n in range(1, AHEAD + 1)}
        ahead_set = {n: sets[1 + n] for n in range(1, AHEAD + 1)}
        if late_write:
            # the write registers (below): the set and key of the write to land next;
            # the set has a copy by each group of the table's memories
            write_sets = [replica(self.set_bits, reset_less=True, name=f"write_set{g}")
                          for g in range(groups)] if groups > 1 else \
                [Signal(self.set_bits, reset_less=True, name="write_set")]
            write_set = write_sets[0]
            write_entry = Signal(entry_layout(W, vw), reset_less=True, name="write_entry")
            ahead_key[ahead], ahead_set[ahead] = write_entry.key, write_set
        set_eq = {(s, n): Signal(name=f"set_eq{s}_{n}") for s in keeps for n in range(1, keeps[s] + 1)}
        key_eq = {(s, n): Signal(name=f"key_eq{s}_{n}") for s in (3, 4, 5)
                  for n in range(1, keeps[s] + 1)}
        for n in pairs:
            m.d.sync += [slices2[n].eq(slice_matches(c[1].coord, ahead_key[n])),
                         set_eq[2, n].eq(sets[1] == ahead_set[n]),
                         key_eq[3, n].eq(slices2[n].all()), set_eq[3, n].eq(set_eq[2, n])]
        for n in range(1, keeps[4] + 1):
            m.d.sync += [key_eq[4, n].eq(key_eq[3, n]), set_eq[4, n].eq(set_eq[3, n])]
        with m.If(~hold5):
            m.d.sync += [key_eq[5, 1].eq(key_eq[4, 1]), set_eq[5, 1].eq(set_eq[4, 1])]

        # --- the write S5 makes, and each write as the stages behind see it ----------
        write_ways = Signal(self.ways)      # decided in S5 (below)
        put5 = Signal()
        entry = Signal(entry_layout(W, vw))
        m.d.comb += [entry.valid.eq(put5), entry.key.eq(c[5].coord),
                     entry.value.eq(c[5].operand[:vw])]
        if late_write:
            # Without a reset, so Yosys keeps them apart from ``wlast`` (which
            # has one): these sit by the block RAMs, that by S5. (A write
            # registered as the reset comes was decided and lands.)
            m.d.sync += [write_entry.eq(entry), *(ws.eq(sets[5]) for ws in write_sets)]
            if groups > 1:
                # and, like the read address, the enable has a copy by each group
                written_bits = Value.cast(write_entry)
                for g, (port, group_set) in enumerate(zip(table_ws, write_sets)):
                    group_en = replica(1, reset_less=True, name=f"write_en{g}")
                    lo = sum(len(p.data) for p in table_ws[:g])
                    m.d.sync += group_en.eq(write_ways)
                    m.d.comb += [port.addr.eq(group_set), port.en.eq(group_en),
                                 port.data.eq(written_bits[lo:lo + len(port.data)])]
            else:
                write_en = Signal(self.ways, reset_less=True, name="write_en")
                m.d.sync += write_en.eq(write_ways)
                m.d.comb += [table_w.addr.eq(write_set), table_w.en.eq(write_en)]
                m.d.comb += [table_w.data[w].eq(write_entry) for w in range(self.ways)]
        else:
            m.d.comb += [table_w.addr.eq(sets[5]), table_w.en.eq(write_ways)]
            m.d.comb += [table_w.data[w].eq(entry) for w in range(self.ways)]
        written = data.StructLayout({"ways": self.ways, "put": 1, "value": vw})
        # The write S5 decided at the last clock edge, for the stages behind; with
        # the late write a copy of the write registers, kept apart from them
        # (they sit by the block RAMs; this by S5).
        wlast = Signal(written)
        m.d.sync += [wlast.ways.eq(write_ways), wlast.put.eq(put5),
                     wlast.value.eq(c[5].operand[:vw])]
        missed = missed_write_layout(self.ways, vw)

        def as_missed(write, s, n):
            """``write`` (made by the instruction ``n`` ahead) as stage ``s`` folds it."""
            seen = Signal(missed, name=f"missed{s}_{n}")
            m.d.comb += [seen.ways.eq(Mux(set_eq[s, n], write.ways, 0)),
                         seen.match.eq(key_eq[s, n]), seen.put.eq(write.put),
                         seen.value.eq(write.value)]
            return seen

        # The writes of the instructions five (with the late write) and four
        # ahead are folded a clock early, in S2, as far as they can be without
        # their key compares (S3 has those): S3 then folds one write and picks.
        # In S2 the write four ahead is ``wlast``, and that five ahead ``write4``.
        write4 = Signal(written)
        m.d.sync += write4.eq(wlast)
        s2_writes = [(n, write) for n, write in ((5, write4), (4, wlast)) if n <= ahead]
        prefold_layout = data.StructLayout({"here": 1, "free": 1, "value": vw,
                                            **{f"put{n}": 1 for n, _ in s2_writes}})
        prefold = [Signal(prefold_layout, reset_less=True, name=f"prefold{w}")
                   for w in range(self.ways)]
        for w in range(self.ways):
            here_any, free, value, puts = Const(0), Const(0), Const(0, vw), {}
            for n, write in s2_writes:             # oldest first: the newest here wins
                here = set_eq[2, n] & write.ways[w]
                puts = {k: put & ~here for k, put in puts.items()}
                puts[n] = here & write.put
                free, value = Mux(here, ~write.put, free), Mux(here, write.value, value)
                here_any = here_any | here
            m.d.sync += [prefold[w].here.eq(here_any), prefold[w].free.eq(free),
                         prefold[w].value.eq(value)]
            m.d.sync += [prefold[w][f"put{n}"].eq(put) for n, put in puts.items()]

        # --- S3: the row against the key, per slice; the write three ahead folded ---
        row = Signal.like(table_row, reset_less=True)
        m.d.sync += row.eq(table_row)
        nslices = len(slices2[1])
        row_slices = [Signal(nslices, name=f"row_slices{w}") for w in range(self.ways)]
        row_valid = Signal(self.ways)
        row_value = Signal(data.ArrayLayout(vw, self.ways), reset_less=True)
        early = data.StructLayout({"here": 1, "hit": 1, "free": 1, "value": vw})
        older = [Signal(early, name=f"older{w}") for w in range(self.ways)]
        for w in range(self.ways):
            o = prefold[w]
            hit_before = Cat(*(o[f"put{n}"] & key_eq[3, n] for n, _ in s2_writes)).any()
            here = set_eq[3, 3] & wlast.ways[w]
            m.d.sync += [row_slices[w].eq(slice_matches(row[w].key, c[3].coord)),
                         row_valid[w].eq(row[w].valid), row_value[w].eq(row[w].value),
                         older[w].here.eq(here | o.here),
                         older[w].hit.eq(Mux(here, wlast.put & key_eq[3, 3], hit_before)),
                         older[w].free.eq(Mux(here, ~wlast.put, o.free)),
                         older[w].value.eq(Mux(here, wlast.value, o.value))]

        # --- S4: hit/free per way, and the write two ahead folded in -------------------
        hit5 = Signal(self.ways)
        free5 = Signal(self.ways)
        value5 = Signal(data.ArrayLayout(vw, self.ways), reset_less=True)
        for w in range(self.ways):
            o = older[w]
            hit = Mux(o.here, o.hit, row_valid[w] & row_slices[w].all())
            free = Mux(o.here, o.free, ~row_valid[w])
            value = Mux(o.here, o.value, row_value[w])
            hit, free, value = fold_writes(w, hit, free, value, (as_missed(wlast, 4, 2),))
            with m.If(~hold5):
                m.d.sync += [hit5[w].eq(hit), free5[w].eq(free), value5[w].eq(value)]

        # --- S2 -> S5: what the instruction is, and the answers that need no table ----
        # S2 decodes (one-hot opcode, the argument tests), S3 executes, S4 picks
        # the opcode's result: no opcode compare or magnitude compare sits in front
        # of a response register.
        dec3, dec4 = Signal(self._decoded()), Signal(self._decoded())
        self._decode(m, c[2], bad_pattern[2], dec3)
        m.d.sync += dec4.eq(dec3)
        kind = data.StructLayout({"get": 1, "put": 1, "delete": 1, "scan": 1, "range": 1,
                                  "reduce": 1, "route_set": 1, "table": 1})
        kind4, kind5 = Signal(kind), Signal(kind)
        pure5 = Signal(rsp_shape, reset_less=True)
        self._execute(m, c[2], c[3], c[4], dec3, dec4, kind4, pure5, hold5, ranges)
        with m.If(~hold5):
            m.d.sync += kind5.eq(kind4)

        # CROUTE HASH and CMOE: multiply-high of 16 hash bits by n over S1 to S4
        # (in fabric: see ``MultiplyHigh``), from the hash bits picked as S1
        # loads. Its answer is S5's without a hold: these instructions never
        # wait in S5, and behind one that does the stages are empty.
        m.submodules.reduce = reduce = MultiplyHigh(16)
        assert reduce.latency == 4
        m.d.comb += [reduce.a.eq(reduce_bits), reduce.b.eq(c[1].arg)]
        reduced5 = reduce.p

        # --- S5: the write just ahead folded in; decide; answer -----------------------
        last = as_missed(wlast, 5, 1)
        hits, frees, values = Signal(self.ways), Signal(self.ways), []
        for w in range(self.ways):
            hit, free, value = fold_writes(w, hit5[w], free5[w], value5[w], (last,))
            values.append(value)
            m.d.comb += [hits[w].eq(hit), frees[w].eq(free)]
        hit, hit_way = hits.any(), first_one(list(hits))
        free, free_way = frees.any(), first_one(list(frees))
        value_hit = Signal(vw)
        m.d.comb += value_hit.eq(Cat(*values).word_select(hit_way, vw) if self.ways > 1
                                 else values[0])

        rsp = Signal(rsp_shape)
        found_status = Mux(hit, Status.OK, Status.NOT_FOUND)
        m.d.comb += [rsp.eq(pure5), put5.eq(kind5.put),
                     rsp.status.eq(one_hot(
                         (kind5.get | kind5.delete, found_status),
                         (kind5.put, Mux(hit | free, Status.OK, Status.TABLE_FULL)),
                         (~kind5.table, pure5.status)))]
        with m.If(kind5.reduce):
            m.d.comb += rsp.aux.eq(reduced5)
        with m.If(kind5.get):
            m.d.comb += rsp.value.eq(value_hit)
        with m.If(v[5] & kind5.put):
            m.d.comb += write_ways.eq(Mux(hit, 1 << hit_way, Mux(free, 1 << free_way, 0)))
        with m.If(v[5] & kind5.delete):
            m.d.comb += write_ways.eq(Mux(hit, 1 << hit_way, 0))
        m.d.comb += [route_w.addr.eq(c[5].mode), route_w.data.bound.eq(c[5].coord),
                     route_w.data.node.eq(c[5].arg), route_w.en.eq(v[5] & kind5.route_set)]

        # --- the CROUTE RANGE scan: a unit of its own beside S5 ---------------------------
        # S5 hands the scan over and goes on (the intake is closed and the stages
        # behind it are empty until the scan has answered), so without the range
        # instructions S5 never holds: holding it was an enable over ~1200 flops,
        # the ECP5 core clock's slowest path. The scan's answer is registered as
        # it finishes and written a clock later, over S5's answer in the fields a
        # CROUTE answer has, so the FIFO's write data stays a register and a
        # multiplexer away: 4n + 3 clocks from S5 (a scan takes 4n + 1).
        scan_answered = Const(0)      # the scan's answer is written this clock
        if Op.CROUTE in self.ops:
            scan_rsp = Signal(data.StructLayout({"status": Status, "aux": 16}), reset_less=True)
            scanning = Signal()
            scan_cmd = Signal(data.StructLayout({"op": Op, "tag": cmd_shape["tag"].shape,
                                                 "coord": cmd_shape["coord"].shape,
                                                 "arg": cmd_shape["arg"].shape}),
                              reset_less=True)
            # The command is taken from S5 on every clock until a scan starts, under
            # copies of ``scanning`` (each over a part of its 176 flops): under
            # S5's scan flag the enable was v5 and kind5 through a LUT.
            idle = [replica(name=f"scan_idle{k}", init=1) for k in range(4)]
            flops = scan_cmd.as_value()
            taken = Cat(*(c[5][name] for name, _ in scan_cmd.shape()))   # in its order
            per_copy = -(-len(flops) // len(idle))
            for k, copy in enumerate(idle):
                part = slice(k * per_copy, (k + 1) * per_copy)
                with m.If(copy):
                    m.d.sync += flops[part].eq(taken[part])
            compared_all, found, node = route_scan(m, scan_cmd, route_r, scanning, Const(1), W,
                                                   merge_group=self.ROUTE_MERGE_GROUP,
                                                   load_copies=self.ROUTE_LOAD_COPIES)
            scan_finished = scanning & compared_all
            scanning_next = Mux(v[5] & kind5.scan, 1, Mux(scan_finished, 0, scanning))
            m.d.sync += [scanning.eq(scanning_next)] + [copy.eq(~scanning_next) for copy in idle]
            scan_answered = Signal()
            m.d.sync += [scan_answered.eq(scan_finished),
                         scan_rsp.status.eq(Mux(found, Status.OK, Status.NOT_FOUND)),
                         scan_rsp.aux.eq(node)]

        # --- credits, and the answer FIFO ------------------------------------------------
        credits = Signal(range(self.answers + 1), init=self.answers)
        claims = Signal(2)          # taken this clock: an instruction, a range record
        record = Signal()
        m.d.comb += claims.eq(accept + record)

        # What the FIFO is given whether it writes or not (a range record or a
        # scan's answer replaces it): no gate in front of its write data.
        m.d.comb += answer_in.eq(rsp)
        range_done = Const(1)
        if ranges:
            def emit(answer):
                m.d.comb += [record.eq(1), answers.w_en.eq(1), answer_in.eq(answer)]
            range_done = range_walk(m, zindex, table_r, range5, c[5], rsp,
                                    credits != 0, emit, Const(1), sets[1], way_bits,
                                    ways=self.ways, width=W, value_width=vw,
                                    digest=Op.CDIGEST in self.ops)
            # A CPUT of a new key or a CDEL that hits is queued for the index; the
            # intake closes while the queue is crowded, so it always has room.
            inserting = v[5] & kind5.put & ~hit & free
            deleting = v[5] & kind5.delete & hit
            update = zindex.update
            m.d.comb += [update.valid.eq(inserting | deleting),
                         update.payload.delete.eq(deleting),
                         update.payload.key.eq(c[5].coord),
                         update.payload.slot.eq(Cat(Mux(deleting, hit_way, free_way)[:way_bits],
                                                    sets[5]))]

        m.d.comb += range5.eq(v[5] & kind5.range)
        done5 = ~kind5.range | range_done
        m.d.comb += hold5.eq(v[5] & ~done5)
        with m.If(v[5] & done5 & ~kind5.scan):
            m.d.comb += answers.w_en.eq(1)
        if Op.CROUTE in self.ops:
            with m.If(scan_answered):
                # (S5 is empty then: its coord, value and the rest are never sent)
                m.d.comb += [answers.w_en.eq(1), answer_in.op.eq(scan_cmd.op),
                             answer_in.tag.eq(scan_cmd.tag),
                             answer_in.status.eq(scan_rsp.status),
                             answer_in.aux.eq(scan_rsp.aux)]

        # A slot comes back a clock after the consumer takes an answer (from a
        # register: the take is the collector's decision, late in the clock); an
        # instruction claims one as it is accepted, a range record as it is written.
        taken = Signal(range(self.answers + 1))
        if crossing:
            # The consumer is on another clock: what it took shows here as the
            # FIFO's level falling short of what was written, ``w_level`` (a
            # register, one clock behind the writes) against its value a clock
            # before plus the write made a clock before that. Slots come back a
            # few clocks late, never early.
            level_before = Signal.like(answers.w_level)
            wrote, wrote_before = Signal(), Signal()
            m.d.sync += [level_before.eq(answers.w_level), wrote.eq(answers.w_en),
                         wrote_before.eq(wrote),
                         taken.eq(level_before + wrote_before - answers.w_level)]
        else:
            m.d.sync += taken.eq(self.o.valid & self.o.ready)
        m.d.sync += credits.eq(credits + taken - claims)
        waiting = Signal()          # a waiting instruction was accepted and has not answered
        answered_waiting = v[5] & waits[5] & done5 & ~kind5.scan | scan_answered
        waiting_next = Mux(accept & waits_in, 1, Mux(answered_waiting, 0, waiting))
        m.d.sync += waiting.eq(waiting_next)
        # room for this instruction and the ``slack`` more that may come after
        # ``ready`` falls
        room = (credits - claims) > self.slack
        if ranges:
            room &= ~zindex.crowded
        m.d.sync += ready.eq(room & ~waiting_next)
        return m

    # The opcodes S2 decodes one-hot, each a flag that is also "no decoder error".
    def _decoded_ops(self):
        ops = [op for op in (Op.CGET, Op.CPUT, Op.CDEL, Op.CDELTA, Op.CHIER, Op.CMOE, Op.CRTSET,
                             Op.CROUTE) if op in self.ops]
        return ops + sorted(RANGE_OPS & self.ops)

    def _decoded(self):
        return data.StructLayout({
            "ok": 1,               # no error from the decoder
            "op": data.StructLayout({op.name: 1 for op in self._decoded_ops()}),
            "pattern_bad": 1, "up_mask": DIMS, "full_mask": 1,
            "chier_mode": 2,       # Dir, or 2 for a bad one
            "arg_zero": 1, "arg_fits": 1,              # n == 0; n <= ROUTE_ENTRIES
            "mode_hash": 1, "mode_range": 1,           # CROUTE
            "index_bad": 1,                            # CRTSET
        })

    def _decode(self, m, c, bad_pattern, dec):
        """S2: the tests S3 and S4 take from flops (``bad_pattern``: ``pattern_bad``
        of ``c``'s pattern, worked out before)."""
        ok = c.error == Status.OK
        mask = c.pattern.mask[:DIMS]
        m.d.sync += [
            dec.ok.eq(ok),
            dec.pattern_bad.eq(bad_pattern),
            dec.up_mask.eq(chier_up_mask(mask)), dec.full_mask.eq(mask.all()),
            dec.chier_mode.eq(Mux(c.mode > Dir.DOWN, 2, c.mode[:1])),
            dec.arg_zero.eq(c.arg == 0), dec.arg_fits.eq(c.arg <= ROUTE_ENTRIES),
            dec.mode_hash.eq(c.mode == RouteMode.HASH), dec.mode_range.eq(c.mode == RouteMode.RANGE),
            dec.index_bad.eq(c.mode >= ROUTE_ENTRIES),
        ]
        m.d.sync += [getattr(dec.op, op.name).eq(ok & (c.op == op)) for op in self._decoded_ops()]

    def _execute(self, m, c2, c3, c4, dec3, dec4, kind4, pure5, hold5, ranges):
        """S3: each opcode's answer (those that need no table) and the kind of
        instruction, registered (CDELTA's sums a clock earlier, in S2); S4: the
        opcode's answer picked into ``pure5``."""
        rsp_shape = response_layout(self.width, self.value_width)
        is3, is4 = dec3.op, dec4.op

        def flag(op, ops=is3):
            return getattr(ops, op.name) if op in self.ops else Const(0)

        m.d.sync += [
            kind4.get.eq(flag(Op.CGET)), kind4.put.eq(flag(Op.CPUT)),
            kind4.delete.eq(flag(Op.CDEL)),
            kind4.table.eq(flag(Op.CGET) | flag(Op.CPUT) | flag(Op.CDEL)),
            kind4.scan.eq(flag(Op.CROUTE) & ~dec3.arg_zero & ~dec3.mode_hash & dec3.mode_range
                          & dec3.arg_fits),
            kind4.reduce.eq(~dec3.arg_zero & (flag(Op.CMOE) | flag(Op.CROUTE) & dec3.mode_hash)),
            kind4.route_set.eq(flag(Op.CRTSET) & ~dec3.index_bad),
        ]
        if ranges:
            m.d.sync += kind4.range.eq(~dec3.pattern_bad & (
                Cat(*(flag(op) for op in RANGE_OPS & self.ops)).any()
                | flag(Op.CHIER) & (dec3.chier_mode == Dir.DOWN)))

        # The statuses of the opcodes whose answer is only a status (a CROUTE RANGE
        # or a range instruction with good arguments: the scan or the index's, in S5).
        known = Cat(*(flag(op) for op in self._decoded_ops())).any()
        bad_arg, ok_ = Const(Status.BAD_ARG, Status), Const(Status.OK, Status)
        route_status = Mux(dec3.arg_zero, bad_arg, Mux(dec3.mode_hash, ok_, Mux(
            dec3.mode_range & dec3.arg_fits, Status.BAD_OPCODE, bad_arg)))
        status4 = Signal(Status)
        m.d.sync += status4.eq(one_hot(
            (~dec3.ok, c3.error),
            (dec3.ok & ~known, Status.BAD_OPCODE),
            (flag(Op.CMOE), Mux(dec3.arg_zero, bad_arg, ok_)),
            (flag(Op.CRTSET), Mux(dec3.index_bad, bad_arg, ok_)),
            (flag(Op.CROUTE), route_status),
            *((flag(op), Mux(dec3.pattern_bad, bad_arg, Status.BAD_OPCODE))
              for op in RANGE_OPS & self.ops)))

        # CDELTA's and CHIER UP's answers, each in registers of its own.
        answers = []
        if Op.CDELTA in self.ops:
            # The sums are registered in S2, so S3 only tests their top bits: the
            # adds' carry chains and the test after them were one path into cdelta4.
            sums3 = [Signal(signed(self.width + 2), reset_less=True, name=f"cdelta_sum3_{i}")
                     for i in range(DIMS)]
            m.d.sync += [s.eq(v) for s, v in zip(sums3, cdelta_sums(c2, self.width))]
            cdelta3, cdelta4 = Signal(rsp_shape), Signal(rsp_shape, reset_less=True)
            cdelta_answer(m, sums3, None, cdelta3, self.width)
            m.d.sync += cdelta4.eq(cdelta3)
            answers.append((flag(Op.CDELTA, is4), cdelta4))
        if Op.CHIER in self.ops:
            chier3, chier4 = Signal(rsp_shape), Signal(rsp_shape, reset_less=True)
            m.d.comb += chier3.status.eq(Status.BAD_OPCODE)
            chier(m, SimpleNamespace(pattern=c3.pattern, mode=dec3.chier_mode), chier3,
                  ranges, self.width, bad_pattern=dec3.pattern_bad, up_mask=dec3.up_mask,
                  full_mask=dec3.full_mask, fields_always=True)
            m.d.sync += chier4.eq(chier3)
            answers.append((flag(Op.CHIER, is4), chier4))
        others = ~Cat(*(f for f, _ in answers)).any()
        with m.If(~hold5):
            m.d.sync += [pure5.op.eq(c4.op), pure5.tag.eq(c4.tag), pure5.more.eq(0),
                         pure5.value.eq(0), pure5.aux.eq(0),
                         pure5.status.eq(one_hot(*((f, a.status) for f, a in answers),
                                                 (others, status4)))]
        # coord, hi and mask are sent by CDELTA and CHIER UP only (an error answer,
        # or any other opcode's, has none of them: ``vtpu.isa.RESULT``), so they
        # are picked, not gated: gated, the flags became 300-load reset nets.
        # The pick between the two is copied per component for the same reason.
        coord, hi, mask = Const(0), Const(0), Const(0)
        if Op.CHIER in self.ops:
            coord, hi, mask = chier4.coord, chier4.hi, chier4.mask
        if Op.CDELTA in self.ops:
            coord = cdelta4.coord
            if Op.CHIER in self.ops:
                picks = [replica(name=f"pick_cdelta{i}") for i in range(DIMS)]
                m.d.sync += [pick.eq(flag(Op.CDELTA)) for pick in picks]    # as dec4's
                coord = Cat(*(Mux(pick, cdelta4.coord[i], chier4.coord[i])
                              for i, pick in enumerate(picks)))
        with m.If(~hold5):
            m.d.sync += [pure5.coord.eq(coord), pure5.hi.eq(hi), pure5.mask.eq(mask)]


def one_hot(*choices):
    """The value whose flag is set, of (flag, value) pairs whose flags are never
    set together (0 if none is): an AND-OR, a LUT level or two, where an
    if/elif chain would be a multiplexer per choice."""
    width = max(len(Value.cast(value)) for _, value in choices)
    out = Const(0, width)
    for chosen, value in choices:
        out = out | Mux(chosen, Value.cast(value), 0)
    return out
