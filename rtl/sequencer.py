"""Sequencer: one sentron's execution pipeline.

Decoded instructions (``command_layout``) in, answers (``response_layout``)
out, with exactly the golden model's statuses and results::

    R1: hash stage 1 (partial parities)
    R2: hash stage 2 -> set index; the table row is read
    R3: row compared across the ways; result computed; table written
    out: answer register

Point instructions (CGET, CPUT, CDEL) and the pure ones (CDELTA, CHIER UP,
CROUTE HASH, CMOE, CRTSET) take one clock each, back to back, three clocks
from accept to answer. The table row is read through a port transparent to
the write port, so an instruction sees the write of the one just ahead of it
in the same set without a bubble.

CROUTE RANGE scans the 16-entry ownership table one entry per clock while the
pipeline waits. Range instructions (CRANGE, CHIER DOWN, CDIGEST) are run by
the scan engine in R3 (see ``_range_engine``).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vtpu.isa import (COORD_WIDTH, DIMS, HASH_WIDTH, ROUTE_ENTRIES, TABLE_SEED, VALUE_WIDTH,
                      Dir, Op, RouteMode, Status)

from .hash_unit import h3_partials
from .layouts import CHIER_UP_FLAG, command_layout, coord_layout, response_layout
from .zorder import z_less, z_less_equal
from vtpu.hash import h3_rows

__all__ = ["Sequencer", "IMPLEMENTED_OPS", "entry_layout"]

# What this gateware executes; everything else answers BAD_OPCODE, and the
# testbenches configure the golden model with the same set.
IMPLEMENTED_OPS = frozenset({Op.CGET, Op.CPUT, Op.CDEL, Op.CDELTA, Op.CROUTE, Op.CMOE,
                             Op.CRTSET})


def entry_layout(width=COORD_WIDTH, value_width=VALUE_WIDTH):
    return data.StructLayout({"valid": 1, "key": coord_layout(width), "value": value_width})


def _first_one(bits):
    """Index of the lowest set bit of a list of 1-bit values (0 if none)."""
    index = Const(0, range(max(2, len(bits))))
    for i in reversed(range(len(bits))):
        index = Mux(bits[i], i, index)
    return index


class Sequencer(wiring.Component):
    def __init__(self, *, sets=64, ways=4, width=COORD_WIDTH, value_width=VALUE_WIDTH,
                 seed=TABLE_SEED, ops=IMPLEMENTED_OPS):
        assert sets & (sets - 1) == 0 and sets >= 2, "sets must be a power of two >= 2"
        self.sets, self.ways, self.width, self.value_width = sets, ways, width, value_width
        self.seed, self.ops = seed, frozenset(ops)
        self.set_bits = sets.bit_length() - 1
        super().__init__({
            "i": In(stream.Signature(command_layout(width, value_width))),
            "o": Out(stream.Signature(response_layout(width, value_width))),
        })

    def elaborate(self, platform):
        m = Module()
        W, top = self.width, (1 << self.width) - 1
        cmd_shape = command_layout(W, self.value_width)
        rows = h3_rows(self.seed, DIMS * W, HASH_WIDTH)

        m.submodules.table = table = Memory(
            shape=data.ArrayLayout(entry_layout(W, self.value_width), self.ways),
            depth=self.sets, init=[])
        table_w = table.write_port()
        table_r = table.read_port(transparent_for=(table_w,))
        m.submodules.routes = routes = Memory(
            shape=data.StructLayout({"bound": coord_layout(W), "node": 16}),
            depth=ROUTE_ENTRIES, init=[])
        route_w = routes.write_port()
        route_r = routes.read_port(transparent_for=(route_w,))

        # --- pipeline registers ----------------------------------------------
        v1, v2, v3 = Signal(), Signal(), Signal()
        c1, c2, c3 = Signal(cmd_shape), Signal(cmd_shape), Signal(cmd_shape)
        partials = h3_partials(Value.cast(self.i.payload.coord), rows)
        p1 = [Signal(len(p), name=f"partial{j}") for j, p in enumerate(partials)]
        h2, h3 = Signal(HASH_WIDTH), Signal(HASH_WIDTH)

        done3 = Signal()          # R3's instruction can answer this cycle
        out_free = ~self.o.valid | self.o.ready
        advance = ~v3 | (done3 & out_free)
        m.d.comb += self.i.ready.eq(advance)

        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(advance):
            m.d.sync += [v1.eq(self.i.valid), c1.eq(self.i.payload),
                         v2.eq(v1), c2.eq(c1), v3.eq(v2), c3.eq(c2), h3.eq(h2)]
            m.d.sync += [s.eq(Cat(*p)) for s, p in zip(p1, partials)]
            m.d.sync += h2.eq(Cat(*(s.xor() for s in p1)))
        m.d.comb += [table_r.addr.eq(h2[:self.set_bits]), table_r.en.eq(advance)]

        # --- R3: execute ----------------------------------------------------------
        rsp = Signal(response_layout(W, self.value_width))
        m.d.comb += [rsp.op.eq(c3.op), rsp.tag.eq(c3.tag)]
        row = table_r.data
        new_row = Signal.like(row)
        m.d.comb += new_row.eq(row)
        write = Signal()
        m.d.comb += [table_w.addr.eq(h3[:self.set_bits]), table_w.data.eq(new_row),
                     table_w.en.eq(write & v3 & done3 & out_free)]

        hits = [row[w].valid & (Value.cast(row[w].key) == Value.cast(c3.coord)) for w in range(self.ways)]
        frees = [~row[w].valid for w in range(self.ways)]
        hit, hit_way = Cat(*hits).any(), _first_one(hits)
        free, free_way = Cat(*frees).any(), _first_one(frees)

        def reduce16(h16, n):
            product = Signal(32)
            m.d.comb += product.eq(h16 * n)
            return product[16:]

        scanning_route = Signal()
        m.d.comb += done3.eq(1)

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
                                     rsp.value.eq(row[hit_way].value)]
                if implemented(Op.CPUT):
                    with m.Case(Op.CPUT):
                        with m.If(hit):
                            m.d.comb += [rsp.status.eq(Status.OK), write.eq(1),
                                         new_row[hit_way].value.eq(c3.value)]
                        with m.Elif(free):
                            m.d.comb += [rsp.status.eq(Status.OK), write.eq(1),
                                         new_row[free_way].valid.eq(1),
                                         new_row[free_way].key.eq(c3.coord),
                                         new_row[free_way].value.eq(c3.value)]
                        with m.Else():
                            m.d.comb += rsp.status.eq(Status.TABLE_FULL)
                if implemented(Op.CDEL):
                    with m.Case(Op.CDEL):
                        with m.If(hit):
                            m.d.comb += [rsp.status.eq(Status.OK), write.eq(1),
                                         new_row[hit_way].valid.eq(0)]
                        with m.Else():
                            m.d.comb += rsp.status.eq(Status.NOT_FOUND)
                if implemented(Op.CDELTA):
                    with m.Case(Op.CDELTA):
                        sums = [Signal(signed(W + 2), name=f"sum{i}") for i in range(DIMS)]
                        m.d.comb += [s.eq(c3.coord[i] + c3.delta[i]) for i, s in enumerate(sums)]
                        overflow = Cat(*((s < 0) | (s > top) for s in sums)).any()
                        m.d.comb += [rsp.status.eq(Mux(overflow, Status.OVERFLOW, Status.OK))]
                        m.d.comb += [rsp.coord[i].eq(s[:W]) for i, s in enumerate(sums)]
                if implemented(Op.CMOE):
                    with m.Case(Op.CMOE):
                        m.d.comb += [rsp.status.eq(Mux(c3.arg == 0, Status.BAD_ARG, Status.OK)),
                                     rsp.aux.eq(reduce16(h3[32:48], c3.arg))]
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
                        self._croute(m, c3, h3, rsp, route_r, out_free, v3, done3, scanning_route,
                                     reduce16)

        with m.If(v3 & done3 & out_free):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(rsp)]
        return m

    def _croute(self, m, c3, h3, rsp, route_r, out_free, v3, done3, scanning, reduce16):
        """HASH: multiply-high of hash bits [16:32]. RANGE: scan the ownership table.

        The route table's read port idles on entry 0, so a RANGE instruction
        finds entry 0 on the port when it reaches R3 and reads one more entry
        per clock; the best (greatest Morton bound at or below the coordinate,
        lowest index on ties) is kept in registers.
        """
        W = self.width
        index = Signal(range(ROUTE_ENTRIES))
        best_valid = Signal()
        best_bound = Signal(coord_layout(W))
        best_node = Signal(16)
        entry = route_r.data
        n = c3.arg
        last = index == (n - 1)[:len(index)]
        qualifies = z_less_equal(entry.bound, c3.coord, W)
        better = qualifies & (~best_valid | z_less(best_bound, entry.bound, W))
        final_valid = best_valid | qualifies
        final_node = Mux(better, entry.node, best_node)

        with m.If(c3.arg == 0):
            m.d.comb += rsp.status.eq(Status.BAD_ARG)
        with m.Elif(c3.mode == RouteMode.HASH):
            m.d.comb += [rsp.status.eq(Status.OK), rsp.aux.eq(reduce16(h3[16:32], n))]
        with m.Elif((c3.mode == RouteMode.RANGE) & (n <= ROUTE_ENTRIES)):
            m.d.comb += scanning.eq(v3)
            with m.If(v3 & ~last):
                m.d.comb += [done3.eq(0), route_r.addr.eq(index + 1)]
                m.d.sync += index.eq(index + 1)
                with m.If(better):
                    m.d.sync += [best_valid.eq(1), best_bound.eq(entry.bound), best_node.eq(entry.node)]
            with m.Elif(v3 & ~out_free):
                m.d.comb += route_r.addr.eq(index)          # hold the last entry while waiting
            with m.Elif(v3):
                m.d.sync += [index.eq(0), best_valid.eq(0)]
            m.d.comb += [rsp.status.eq(Mux(final_valid, Status.OK, Status.NOT_FOUND)),
                         rsp.aux.eq(final_node)]
        with m.Else():
            m.d.comb += rsp.status.eq(Status.BAD_ARG)
