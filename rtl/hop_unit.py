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

Every other instruction passes straight through, and so do its answers. A
CKG waits until every instruction ahead of it has answered (``outstanding``
counts them), so the answers that come back while it walks are its own CGETs'
and nothing overtakes anything: answers leave in issue order. Instructions
behind it wait at ``i`` until its walk ends.

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

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from vtpu.isa import COORD_WIDTH, DIMS, MAX_HOPS, VALUE_WIDTH, Op, Status

from .layouts import command_layout, coord_layout, delta_layout, response_layout
from .sentron.execute import coord_plus_delta

__all__ = ["HopUnit"]


class HopUnit(wiring.Component):
    """``i``: instructions in; ``o``: to the sentrons (a CKG's CGETs among
    them); ``answers``: the sentrons' answers; ``answer``: answers out, in
    order. ``in_flight``: the most instructions the sentrons can hold between
    ``o`` and ``answers`` (sizes ``outstanding``)."""

    def __init__(self, width=COORD_WIDTH, value_width=VALUE_WIDTH, in_flight=256):
        self.width, self.value_width, self.in_flight = width, value_width, in_flight
        commands = stream.Signature(command_layout(width, value_width))
        responses = stream.Signature(response_layout(width, value_width))
        super().__init__({
            "i": In(commands), "o": Out(commands),
            "answers": In(responses), "answer": Out(responses),
        })

    def elaborate(self, platform):
        m = Module()
        W = self.width
        cmd = self.i.payload

        # --- the walk's state ------------------------------------------------
        tag = Signal(8)
        node = Signal(coord_layout(W))
        edge = Signal(coord_layout(W))
        deltas = Signal.like(cmd.deltas)
        entity = Signal(range(DIMS))
        hops = Signal(range(MAX_HOPS + 1))
        hop = Signal(range(MAX_HOPS + 1))          # hops done so far: the records
        bad = Signal()                             # BAD_ARG, found at capture
        result = Signal(Status)                    # why the walk ended

        # One answer of the unit's own (a record or the final answer), which
        # goes out before anything behind it.
        own = Signal(response_layout(W, self.value_width))
        own_valid = Signal()
        with m.If(self.answer.ready):
            m.d.sync += own_valid.eq(0)

        def answer(status, more=0, coord=None, value=0):
            m.d.sync += [own.eq(0), own.op.eq(Op.CKG), own.tag.eq(tag), own.status.eq(status),
                         own.more.eq(more), own_valid.eq(1)]
            if more:
                m.d.sync += [own.coord.eq(coord), own.value.eq(value)]
            else:
                m.d.sync += own.aux.eq(hop)         # the records answered

        # Instructions sent on and not yet answered (their final answers).
        outstanding = Signal(range(self.in_flight + 1))
        passed_final = Signal()
        walking = Signal()                         # a CKG holds the unit
        sent = self.o.valid & self.o.ready & ~walking
        m.d.sync += outstanding.eq(outstanding + sent - passed_final)

        is_walk = (cmd.op == Op.CKG) & (cmd.error == Status.OK)

        # --- answers: the unit's own first, then the sentrons' ---------------
        m.d.comb += self.answer.payload.eq(Mux(own_valid, own, self.answers.payload))
        m.d.comb += self.answer.valid.eq(own_valid | (~walking & self.answers.valid))
        with m.If(~walking):
            m.d.comb += self.answers.ready.eq(~own_valid & self.answer.ready)
            m.d.comb += passed_final.eq(self.answers.valid & self.answers.ready
                                        & ~self.answers.payload.more)

        # The adder: the node, with the value just answered in its entity
        # component when ``substitute``, plus the next hop's delta.
        substitute = Signal()
        value = self.answers.payload.value
        next_node = Signal(coord_layout(W))
        m.d.comb += [next_node[i].eq(Mux(substitute & (entity == i), value[:W], node[i]))
                     for i in range(DIMS)]
        next_hop = Signal(range(MAX_HOPS + 1))
        m.d.comb += next_hop.eq(hop + substitute)
        sums = [Signal(W + 2, name=f"sum{i}") for i in range(DIMS)]
        m.d.comb += [s.eq(v) for s, v in zip(sums, coord_plus_delta(next_node, deltas[next_hop[:3]]))]
        next_edge = Signal(coord_layout(W))
        m.d.comb += [next_edge[i].eq(s[:W]) for i, s in enumerate(sums)]
        next_over = Cat(*(s[W:] for s in sums)).any()
        over = Signal()                            # the edge is outside the coordinates

        with m.FSM():
            with m.State("PASS"):
                with m.If(~is_walk):
                    m.d.comb += [self.o.payload.eq(cmd), self.o.valid.eq(self.i.valid),
                                 self.i.ready.eq(self.o.ready)]
                with m.Elif(self.i.valid & (outstanding == 0)):
                    # Everything ahead has answered: the walk may begin.
                    m.d.comb += self.i.ready.eq(1)
                    m.d.sync += [tag.eq(cmd.tag), node.eq(cmd.coord), deltas.eq(cmd.deltas),
                                 entity.eq(cmd.mode), hops.eq(cmd.arg), hop.eq(0),
                                 bad.eq((cmd.mode >= DIMS) | (cmd.arg == 0) | (cmd.arg > MAX_HOPS)
                                        | (cmd.arg != cmd.deltas_sent)),
                                 walking.eq(1)]
                    m.next = "START"
            with m.State("START"):
                with m.If(bad):
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
                    m.d.comb += [self.o.valid.eq(1), self.o.payload.op.eq(Op.CGET),
                                 self.o.payload.error.eq(Status.OK),
                                 self.o.payload.coord.eq(edge)]
                    with m.If(self.o.ready):
                        m.next = "WAIT"
            with m.State("WAIT"):
                reply = self.answers.payload
                m.d.comb += self.answers.ready.eq(~own_valid)
                with m.If(self.answers.valid & ~own_valid):
                    with m.If(reply.status != Status.OK):
                        m.d.sync += result.eq(Status.NOT_FOUND)
                        m.next = "FINAL"
                    with m.Else():
                        answer(Status.OK, more=1, coord=edge, value=reply.value)
                        m.d.sync += hop.eq(hop + 1)
                        with m.If(reply.value[W:].any()):
                            # the record is answered; the value names no node
                            m.d.sync += result.eq(Status.OVERFLOW)
                            m.next = "FINAL"
                        with m.Elif(hop + 1 == hops):
                            m.d.sync += result.eq(Status.OK)
                            m.next = "FINAL"
                        with m.Else():
                            # the next edge is added up as the value arrives
                            m.d.comb += substitute.eq(1)
                            m.d.sync += [node.eq(next_node), edge.eq(next_edge),
                                         over.eq(next_over)]
                            m.next = "ISSUE"
            with m.State("FINAL"):
                with m.If(~own_valid):
                    answer(result)
                    m.d.sync += walking.eq(0)
                    m.next = "PASS"
        return m
