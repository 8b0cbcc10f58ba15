"""HopUnit: CKG, as a walk of CGETs through the sentrons behind it.

    i -> HopUnit -> o -> sentrons (SentronArray) -> answers -> HopUnit -> answer
                   (CGET of each hop's edge)      (each CGET's answer, taken back)

A CKG hop is "delta, get, substitute" (docs/isa.md): the edge is the node
plus the hop's delta (CDELTA's adder, ``coord_plus_delta``; OVERFLOW outside
the coordinate range), its value is read from the table (a CGET, sent to
whichever sentron owns the edge, so an array needs nothing more), answered as
a record, and becomes the node's ``entity`` component (OVERFLOW, after the
record, if it is wider than a component). NOT_FOUND ends the walk at a
missing edge; the final answer counts the records.

Every other instruction passes straight through, and so do its answers; a
CKG waits for everything ahead of it to answer, and what comes behind waits
for the walk (``Interposer``).

A hop is two steps: as a CGET's answer arrives, the node takes its value and
the next edge is added up into a register; the next clock the CGET of that
edge goes out (ISSUE), and the sentrons answer it their latency later
(WAIT). A hop takes the sentrons' latency and one clock: ``make bench``'s
``rtl.ckg.clocks_per_hop``.

BAD_ARG, as the model's: an ``entity`` beyond the components, no hops, or a
``hops`` field that differs from the deltas the frame carried (the decoder's
``deltas_sent``). A frame the decoder rejected passes through: the sentrons
answer its error.
"""

from amaranth.hdl import Cat, Mux, Signal

from vtpu.isa import DIMS, MAX_HOPS, Op, Status

from .interposer import Interposer
from .layouts import coord_layout
from .sentron.execute import coord_plus_delta

__all__ = ["HopUnit"]

HOP_BITS = (MAX_HOPS - 1).bit_length()      # a delta's index


class HopUnit(Interposer):
    def claims(self, cmd):
        return cmd.op == Op.CKG

    def datapath(self, m):
        # the instruction's fields, read where it waits (``Interposer``)
        cmd = self.i.payload
        self.deltas, self.entity, self.hops = cmd.deltas, cmd.mode, cmd.arg
        self.bad = ((cmd.mode >= DIMS) | (cmd.arg == 0) | (cmd.arg > MAX_HOPS)
                    | (cmd.arg != cmd.deltas_sent))
        self.node = Signal(coord_layout(self.width))
        self.hop = Signal(range(MAX_HOPS + 1))     # hops done so far: the records

    def capture(self, m, cmd):
        m.d.sync += [self.node.eq(cmd.coord), self.hop.eq(0)]

    def work(self, m):
        W = self.width
        node, hop = self.node, self.hop
        edge = Signal(coord_layout(W))
        result = Signal(Status)                    # why the walk ended
        over = Signal()                            # the edge is outside the coordinates

        # The adder: the node, with the value just answered in its entity
        # component when ``substitute``, plus the next hop's delta.
        substitute = Signal()
        value = self.answers.payload.value
        next_node = Signal(coord_layout(W))
        m.d.comb += [next_node[i].eq(Mux(substitute & (self.entity == i), value[:W], node[i]))
                     for i in range(DIMS)]
        next_hop = Signal(range(MAX_HOPS + 1))
        m.d.comb += next_hop.eq(hop + substitute)
        sums = [Signal(W + 2, name=f"sum{i}") for i in range(DIMS)]
        delta = self.deltas[next_hop[:HOP_BITS]]
        m.d.comb += [s.eq(v) for s, v in zip(sums, coord_plus_delta(next_node, delta))]
        next_edge = Signal(coord_layout(W))
        m.d.comb += [next_edge[i].eq(s[:W]) for i, s in enumerate(sums)]
        next_over = Cat(*(s[W:] for s in sums)).any()

        with m.State("START"):
            with m.If(self.bad):
                m.d.sync += result.eq(Status.BAD_ARG)
                m.next = "FINAL"
            with m.Else():
                m.d.sync += [edge.eq(next_edge), over.eq(next_over)]
                m.next = "ISSUE"
        with m.State("ISSUE"):
            with m.If(over):
                m.d.sync += result.eq(Status.OVERFLOW)
                m.next = "FINAL"
            with m.Else():
                self.send(m, op=Op.CGET, coord=edge)
                with m.If(self.o.ready):
                    m.next = "WAIT"
        with m.State("WAIT"):
            reply = self.answers.payload
            with m.If(self.receive(m)):
                with m.If(reply.status != Status.OK):
                    m.d.sync += result.eq(Status.NOT_FOUND)
                    m.next = "FINAL"
                with m.Else():
                    self.respond(m, Status.OK, more=1, coord=edge, value=reply.value)
                    m.d.sync += hop.eq(hop + 1)
                    with m.If(reply.value[W:].any()):
                        # the record is answered; the value names no node
                        m.d.sync += result.eq(Status.OVERFLOW)
                        m.next = "FINAL"
                    with m.Elif(hop + 1 == self.hops):
                        m.d.sync += result.eq(Status.OK)
                        m.next = "FINAL"
                    with m.Else():
                        # the next edge is added up as the value arrives
                        m.d.comb += substitute.eq(1)
                        m.d.sync += [node.eq(next_node), edge.eq(next_edge), over.eq(next_over)]
                        m.next = "ISSUE"
        with m.State("FINAL"):
            self.finish(m, result, aux=hop)            # the count: records answered
