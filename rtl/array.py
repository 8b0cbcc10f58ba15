"""Sentron array: N sequencers behind a dispatcher, answers merged in order.

    i -> [dispatch register] -> sentron 0 .. N-1 -> [collect register] -> o
                      \\-> order FIFO (target of each instruction) -/

A point instruction (CGET, CPUT, CDEL) goes to the sentron that owns its key:
bits ``[set_bits, set_bits + sentron_bits)`` of the table hash, the split
``vtpu.model.Model.locate`` defines, so each sentron holds ``sets x ways`` of
the keys and a full set in one sentron is TABLE_FULL even when the others have
room. The dispatcher hashes each coordinate once and hands the hash to the
sentron with the instruction (``Sequencer`` ``hashed``). A range instruction
(CRANGE, CDIGEST, CHIER DOWN) goes to every sentron: each answers the keys
it holds in Z-order, and the collector merges the streams -- the smallest
head first, once every sentron has an answer up -- then sends one final
answer with the counts (and digests) summed.
Everything else (the pure instructions, CRTSET and CROUTE with the one
ownership table, errors the decoder flagged) goes to sentron 0, which is the
only one built with those opcodes.

Sentrons answer their own instructions in order, so recording the target of
each dispatched instruction in a FIFO and always taking the next answer from
the sentron at its head gives the answers in issue order; instructions for
different sentrons overlap freely. A FIFO entry is retired by the answer
without MORE, so multi-frame answers stay together. The FIFO holds as many
targets as the sentrons can have in flight (three pipeline stages and an
output register each); when it is full the dispatcher waits, and the head's
answer is always on its way, so this cannot deadlock.

With one sentron the array is the bare sequencer: no extra clocks.

``pipelined=True`` (the ECP5 build) builds the sentrons as
``PipelinedSequencer``: five stages that never stall, an answer FIFO each and
an intake gated by credits, so no path runs from the collector's
back-pressure into a sentron's pipeline (``i.ready`` is a flop). A register
slice (``SkidBuffer``) after every sentron pops its FIFO from a flop, so the
collector's decision (late in the clock, and across the chip from the
sentrons) only drives the registers next to it; three clocks more per answer,
the same rate.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from vtpu.isa import COORD_WIDTH, DIMS, HASH_WIDTH, TABLE_SEED, VALUE_WIDTH, Dir, Op, Status
from vtpu.hash import h3_rows

from .hash_unit import h3_hash
from .layouts import command_layout, hashed_command_layout, response_layout
from .pipelined_sequencer import PipelinedSequencer, may_wait, one_hot
from .sequencer import IMPLEMENTED_OPS, RANGE_OPS, Sequencer
from .skid_buffer import SkidBuffer
from .zorder import z_less

__all__ = ["SentronArray", "POINT_OPS"]

# Instructions that touch one key and go to the sentron owning it.
POINT_OPS = frozenset({Op.CGET, Op.CPUT, Op.CDEL})

# Instructions one sentron can hold between accepting and answering (three
# pipeline stages and the answer register).
IN_FLIGHT_PER_SENTRON = 4
# The pipelined array's order FIFO: more than its round trip (dispatch, five
# stages, the answer FIFO, collect), so it never holds back one per clock.
IN_FLIGHT_PIPELINED = 16


class _Ports:
    """A sentron's command port and the answer port the collector sees."""
    def __init__(self, i, o):
        self.i, self.o = i, o


class SentronArray(wiring.Component):
    def __init__(self, *, sentrons=1, sets=64, ways=4, width=COORD_WIDTH,
                 value_width=VALUE_WIDTH, seed=TABLE_SEED, ops=IMPLEMENTED_OPS, pipelined=False):
        assert sentrons >= 1 and sentrons & (sentrons - 1) == 0, \
            "sentrons must be a power of two"
        self.sentrons, self.sets, self.ways = sentrons, sets, ways
        self.width, self.value_width, self.seed = width, value_width, seed
        self.ops = frozenset(ops)
        self.pipelined = pipelined
        self.set_bits = sets.bit_length() - 1
        self.sentron_bits = sentrons.bit_length() - 1
        assert self.set_bits + self.sentron_bits <= HASH_WIDTH
        super().__init__({
            "i": In(stream.Signature(command_layout(width, value_width))),
            "o": Out(stream.Signature(response_layout(width, value_width))),
        })

    def _sequencer(self, index):
        # Every sentron holds keys, so every one answers the range instructions
        # for its share (CHIER for DOWN, which is a CRANGE).
        others = POINT_OPS | RANGE_OPS | ({Op.CHIER} if self.ops & RANGE_OPS else set())
        ops = self.ops if index == 0 else self.ops & others
        kind = PipelinedSequencer if self.pipelined else Sequencer
        return kind(sets=self.sets, ways=self.ways, width=self.width,
                    value_width=self.value_width, seed=self.seed, ops=ops,
                    hashed=self.sentrons > 1)

    def elaborate(self, platform):
        m = Module()
        if self.sentrons == 1:
            m.submodules.sentron0 = only = self._sequencer(0)
            wiring.connect(m, wiring.flipped(self.i), only.i)
            wiring.connect(m, only.o, wiring.flipped(self.o))
            return m

        sentrons = []         # what dispatch and collect see of each sentron
        held_at_most = 0      # pipelined: answers a sentron and its slice can hold
        for k in range(self.sentrons):
            m.submodules[f"sentron{k}"] = sentron = self._sequencer(k)
            if self.pipelined:
                held_at_most = sentron.answers + 2
                m.submodules[f"slice{k}"] = out = SkidBuffer(sentron.o.payload.shape())
                wiring.connect(m, sentron.o, out.i)
                sentron = _Ports(sentron.i, out.o)
            sentrons.append(sentron)
        # A range instruction goes to every sentron ("all"); without the range
        # instructions the flag has no bits and the broadcast/merge logic is not built.
        broadcast = bool(self.ops & RANGE_OPS)
        order_shape = data.StructLayout({"all": int(broadcast), "target": self.sentron_bits})
        if self.pipelined:
            # Every instruction in the order FIFO (all but the head, which is in
            # ``hot``) holds a credit of a sentron it went to, or sits in that
            # sentron's slice: its answers are not taken before it is the head.
            # So the FIFO cannot fill, and its ``w_rdy`` stays out of the offer
            # to the sentrons: their S1 enable is the AND of two flops.
            depth = max(IN_FLIGHT_PIPELINED, self.sentrons * held_at_most)
        else:
            depth = IN_FLIGHT_PER_SENTRON * self.sentrons
        m.submodules.order = order = SyncFIFOBuffered(width=order_shape.size, depth=depth)
        room = Const(1) if self.pipelined else order.w_rdy

        # --- dispatch: the owner's index from the hash bits above the set index --
        # The coordinate is hashed once, here, and the hash goes to the sentron
        # with the instruction: its table address then comes from the dispatch
        # register, not through a hash tree on the far side of the chip.
        cmd = self.i.payload
        table_hash = h3_hash(Value.cast(cmd.coord), h3_rows(self.seed, DIMS * self.width,
                                                            HASH_WIDTH))
        owner_bits = table_hash[self.set_bits:self.set_bits + self.sentron_bits]
        ok = cmd.error == Status.OK
        is_point = Cat(*(cmd.op == op for op in POINT_OPS & self.ops)).any()
        is_range = Cat(*(cmd.op == op for op in RANGE_OPS & self.ops)).any()
        if self.ops & RANGE_OPS:
            is_range |= (cmd.op == Op.CHIER) & (cmd.mode == Dir.DOWN)
        owner = Signal(self.sentron_bits)
        m.d.comb += owner.eq(Mux(is_point & ok, owner_bits, 0))

        held_valid = Signal()
        held = Signal(hashed_command_layout(self.width, self.value_width), reset_less=True)
        target = Signal(order_shape)
        # the sentrons still to take the held instruction: its owner, or (a
        # broadcast) those that have not yet; a register, so an offer is two flops
        mine = Signal(self.sentrons)
        readies = Cat(*(s.i.ready for s in sentrons))
        handed = Signal()
        with m.If(target.all):
            m.d.comb += handed.eq(held_valid & room & (~mine | readies).all())
        with m.Else():
            m.d.comb += handed.eq(held_valid & room & (mine & readies).any())
        load = ~held_valid | handed
        m.d.comb += self.i.ready.eq(load)
        with m.If(load):
            m.d.sync += [held_valid.eq(self.i.valid),
                         held.eq(Cat(cmd, table_hash, may_wait(cmd, self.ops))),
                         mine.eq(Mux(is_range & ok, (1 << self.sentrons) - 1,
                                     Const(1, self.sentrons) << owner)),
                         target.all.eq(is_range & ok), target.target.eq(owner)]
        with m.Elif(target.all):
            m.d.sync += mine.eq(mine & ~Mux(room, readies, 0))
        for k, sentron in enumerate(sentrons):
            m.d.comb += [sentron.i.payload.eq(held),
                         sentron.i.valid.eq(held_valid & room & mine[k])]
        m.d.comb += [order.w_data.eq(target), order.w_en.eq(handed)]

        # --- collect: the next answer comes from the sentron at the FIFO's head -
        # The head is kept one-hot in a register of its own (``hot``, all zero
        # while there is none), so taking the answer of sentron k is one gate of
        # flops: its head bit, its answer's valid and the output register's state.
        head = data.View(order_shape, order.r_data)
        hot = Signal(self.sentrons)
        head_all = Signal()
        out_free = ~self.o.valid | self.o.ready
        answer = Signal(response_layout(self.width, self.value_width))
        valids = Cat(*(s.o.valid for s in sentrons))
        chosen = Signal(self.sentrons)      # the sentrons whose answers are taken
        retire = Signal()                   # the head's last answer is taken
        for k, sentron in enumerate(sentrons):
            m.d.comb += chosen[k].eq(hot[k] & sentron.o.valid & out_free)
        m.d.comb += [
            answer.eq(one_hot(*((hot[k], s.o.payload) for k, s in enumerate(sentrons)))),
            retire.eq((chosen & ~Cat(*(s.o.payload.more for s in sentrons))).any()),
        ]
        if broadcast:
            with m.If(head_all):
                answer_valid, merged = Signal(), Signal(self.sentrons)
                m.d.comb += chosen.eq(0)
                self._merge(m, sentrons, valids, answer, answer_valid, merged, retire)
                with m.If(answer_valid & out_free):
                    m.d.comb += chosen.eq(merged)
                with m.Else():
                    m.d.comb += retire.eq(0)
        take = chosen.any()
        for k, sentron in enumerate(sentrons):
            m.d.comb += sentron.o.ready.eq(chosen[k])
        # The head register loads the next target as the last one retires.
        with m.If(~hot.any() | retire):
            m.d.comb += order.r_en.eq(1)
            m.d.sync += [hot.eq(Mux(order.r_rdy, 1 << head.target, 0)),
                         head_all.eq(order.r_rdy & head.all)]
            if broadcast:
                with m.If(order.r_rdy & head.all):
                    m.d.sync += hot.eq(~0)
        # The answer register loads whenever it is free, an answer taken or not
        # (``o.valid`` says which): its enable is two flops beside it, not the
        # sentrons' valids from across the chip fanned out over 421 bits.
        with m.If(out_free):
            m.d.sync += [self.o.valid.eq(take), self.o.payload.eq(answer)]
        return m

    def _merge(self, m, sentrons, valids, answer, answer_valid, chosen, retire):
        """A range instruction went to every sentron; each answers its records in
        Z-order, then a final frame. The next record out is the smallest head
        among the sentrons still sending records, known only once every sentron
        has an answer up; when all are at their final frames, one final goes out
        with the counts (and CDIGEST's digests, mod 2**64) summed."""
        def smaller(a, b):
            """Whether head ``a`` (has a record, payload, index) goes before ``b``:
            a record beats a final, then Z-order."""
            a_more, a_payload, b_more, b_payload = a[0], a[1], b[0], b[1]
            return Mux(a_more & b_more, ~z_less(b_payload.coord, a_payload.coord, self.width),
                       a_more)

        # tournament over the heads: each match keeps the winner (in named signals:
        # the simulator would re-evaluate a nested expression at every use)
        layout = response_layout(self.width, self.value_width)
        entrants = [(s.o.payload.more, s.o.payload, Const(k, range(self.sentrons)))
                    for k, s in enumerate(sentrons)]
        round_ = 0
        while len(entrants) > 1:
            nxt = []
            for n, (a, b) in enumerate(zip(entrants[::2], entrants[1::2])):
                first = Signal(name=f"merge{round_}_{n}_first")
                m.d.comb += first.eq(smaller(a, b))
                more = Signal(name=f"merge{round_}_{n}_more")
                payload = Signal(layout, name=f"merge{round_}_{n}")
                index = Signal(range(self.sentrons), name=f"merge{round_}_{n}_index")
                m.d.comb += [more.eq(Mux(first, a[0], b[0])), payload.eq(Mux(first, a[1], b[1])),
                             index.eq(Mux(first, a[2], b[2]))]
                nxt.append((more, payload, index))
            entrants = nxt
            round_ += 1
        best_more, best_payload, best_index = entrants[0]

        m.d.comb += answer_valid.eq(valids.all())
        with m.If(best_more):
            m.d.comb += [answer.eq(best_payload), chosen.eq(Const(1, self.sentrons) << best_index),
                         retire.eq(0)]
        with m.Else():
            first = sentrons[0].o.payload
            count = sum((s.o.payload.aux for s in sentrons[1:]), first.aux)
            digest = sum((s.o.payload.value for s in sentrons[1:]), first.value)
            m.d.comb += [answer.eq(first), answer.aux.eq(count), answer.value.eq(digest),
                         chosen.eq(~0), retire.eq(1)]

