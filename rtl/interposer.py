"""Interposer: a unit in front of the sentron array that runs some instructions
itself, as instructions of its own through the array.

    i -> [unit] -> o -> sentrons -> answers -> [unit] -> answer

Every instruction the unit does not claim passes straight through, and so do
its answers. One it claims (``claims``) waits until every instruction ahead
of it has answered (``outstanding`` counts them), so the answers that come
back while the unit works are those of its own instructions and nothing
overtakes anything: answers leave in issue order. The unit takes the claimed
instruction from ``i`` only as it finishes, so the instruction stays on
``i.payload`` (a stream's payload holds until it is taken) and the unit
reads its fields there instead of keeping a copy (CKG's eight deltas are
1152 bits); instructions behind it wait.

A subclass builds its work as states of the unit's state machine (``work``,
after any logic of its own outside it: ``datapath``), entered at ``"START"``
the clock after the claimed instruction was taken (``capture`` loads the
registers the work changes). It sends its instructions through ``send``
(or a CRANGE whose records it takes one by one: ``ask_range``), takes their
answers through ``receive``, answers through ``respond`` (one register,
``own``, which goes out before anything behind it) and ends with ``finish``.
``HopUnit`` (CKG), ``TopKUnit`` (CATTEND, CNEAREST) and ``DigestUnit``
(CDIGEST) are the three.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from vtpu.isa import COORD_WIDTH, VALUE_WIDTH, Op, Status

from .layouts import command_layout, response_layout

__all__ = ["Interposer"]


class Interposer(wiring.Component):
    """``i``: instructions in; ``o``: to the sentrons; ``answers``: the
    sentrons' answers; ``answer``: answers out, in order. ``in_flight``: the
    most instructions the sentrons can hold between ``o`` and ``answers``."""

    def __init__(self, width=COORD_WIDTH, value_width=VALUE_WIDTH, in_flight=256):
        self.width, self.value_width, self.in_flight = width, value_width, in_flight
        commands = stream.Signature(command_layout(width, value_width))
        responses = stream.Signature(response_layout(width, value_width))
        super().__init__({
            "i": In(commands), "o": Out(commands),
            "answers": In(responses), "answer": Out(responses),
        })

    # --- what a subclass provides --------------------------------------------

    def claims(self, cmd):
        """Whether the unit runs ``cmd`` (a 1-bit value)."""
        raise NotImplementedError

    def capture(self, m, cmd):
        """Statements (sync) that load the work's registers as it starts;
        ``cmd`` (``self.i.payload``) holds until ``finish``."""
        raise NotImplementedError

    def datapath(self, m):
        """Logic outside the state machine (built before it)."""

    def work(self, m):
        """The work's states, from "START"."""
        raise NotImplementedError

    # --- what it uses -----------------------------------------------------------

    def respond(self, m, status, *, more=0, **members):
        """Load the unit's answer register (``self.own_valid`` must be low)."""
        own = self.own
        cmd = self.i.payload
        m.d.sync += [own.eq(0), own.op.eq(cmd.op), own.tag.eq(cmd.tag), own.status.eq(status),
                     own.more.eq(more), self.own_valid.eq(1)]
        m.d.sync += [getattr(own, name).eq(value) for name, value in members.items()]

    def send(self, m, **members):
        """Offer an instruction of the unit's own to the sentrons (comb); the
        caller moves on when ``self.o.ready``."""
        m.d.comb += [self.o.valid.eq(1), self.o.payload.error.eq(Status.OK)]
        m.d.comb += [getattr(self.o.payload, name).eq(value) for name, value in members.items()]

    def receive(self, m):
        """Take the sentrons' answers while the answer register is free; the
        answer is taken on a clock where ``self.answers.valid`` and this is high."""
        ready = ~self.own_valid
        m.d.comb += self.answers.ready.eq(ready)
        return self.answers.valid & ready

    def ask_range(self, m, pattern, record, final, then):
        """States "RANGE" and "COLLECT": a CRANGE of ``pattern`` through the
        sentrons; ``record(reply)`` loads each record (sync statements),
        ``final(reply)`` the final answer, after which the work goes on at
        state ``then``. A sentron that takes an instruction only with its
        final answer (``CuckooSequencer`` ``hold``) sends the records while
        the CRANGE is still offered: they are taken meanwhile too."""
        with m.State("RANGE"):
            self.send(m, op=Op.CRANGE, pattern=pattern)
            with m.If(self.receive(m)):
                record(self.answers.payload)
            with m.If(self.o.ready):
                m.next = "COLLECT"
        with m.State("COLLECT"):
            reply = self.answers.payload
            with m.If(self.receive(m)):
                with m.If(reply.more):
                    record(reply)
                with m.Else():
                    final(reply)
                    m.next = then

    def finish(self, m, status, **members):
        """The final answer, once the answer register is free; the claimed
        instruction is taken, and the unit passes instructions through again."""
        with m.If(~self.own_valid):
            self.respond(m, status, **members)
            m.d.comb += self.i.ready.eq(1)
            m.d.sync += self.working.eq(0)
            m.next = "PASS"

    # --- the frame ----------------------------------------------------------------

    def elaborate(self, platform):
        m = Module()
        cmd = self.i.payload
        self.own = own = Signal(response_layout(self.width, self.value_width))
        self.own_valid = own_valid = Signal()
        self.working = working = Signal()         # a claimed instruction holds the unit
        with m.If(self.answer.ready):
            m.d.sync += own_valid.eq(0)

        # Instructions passed on and not yet answered (their final answers).
        outstanding = Signal(range(self.in_flight + 1))
        passed_final = Signal()
        sent = self.o.valid & self.o.ready & ~working
        m.d.sync += outstanding.eq(outstanding + sent - passed_final)

        m.d.comb += self.answer.payload.eq(Mux(own_valid, own, self.answers.payload))
        m.d.comb += self.answer.valid.eq(own_valid | (~working & self.answers.valid))
        with m.If(~working):
            m.d.comb += self.answers.ready.eq(~own_valid & self.answer.ready)
            m.d.comb += passed_final.eq(self.answers.valid & self.answers.ready
                                        & ~self.answers.payload.more)

        claimed = self.claims(cmd) & (cmd.error == Status.OK)
        self.datapath(m)
        with m.FSM():
            with m.State("PASS"):
                with m.If(~claimed):
                    m.d.comb += [self.o.payload.eq(cmd), self.o.valid.eq(self.i.valid),
                                 self.i.ready.eq(self.o.ready)]
                with m.Elif(self.i.valid & (outstanding == 0)):
                    # Everything ahead has answered: the work may begin.
                    m.d.sync += working.eq(1)
                    self.capture(m, cmd)
                    m.next = "START"
            self.work(m)
        return m
