"""Sentron array: N sequencers behind a dispatcher, answers merged in order.

    i -> [dispatch register] -> sentron 0 .. N-1 -> [collect register] -> o
                      \\-> order FIFO (target of each instruction) -/

A point instruction (CGET, CPUT, CDEL) goes to the sentron that owns its key:
bits ``[set_bits, set_bits + sentron_bits)`` of the table hash, the split
``vtpu.model.Model.locate`` defines, so each sentron holds ``sets x ways`` of
the keys and a full set in one sentron is TABLE_FULL even when the others have
room. Everything else (the pure instructions, CRTSET and CROUTE with the one
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
"""

from amaranth.hdl import Cat, Module, Mux, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from vtpu.isa import COORD_WIDTH, DIMS, HASH_WIDTH, TABLE_SEED, VALUE_WIDTH, Op, Status
from vtpu.hash import h3_rows

from .hash_unit import h3_hash
from .layouts import command_layout, response_layout
from .sequencer import IMPLEMENTED_OPS, Sequencer

__all__ = ["SentronArray", "POINT_OPS"]

# Instructions that touch one key and go to the sentron owning it.
POINT_OPS = frozenset({Op.CGET, Op.CPUT, Op.CDEL})

# Instructions one sentron can hold between accepting and answering.
IN_FLIGHT_PER_SENTRON = 4


class SentronArray(wiring.Component):
    def __init__(self, *, sentrons=1, sets=64, ways=4, width=COORD_WIDTH,
                 value_width=VALUE_WIDTH, seed=TABLE_SEED, ops=IMPLEMENTED_OPS):
        assert sentrons >= 1 and sentrons & (sentrons - 1) == 0, \
            "sentrons must be a power of two"
        self.sentrons, self.sets, self.ways = sentrons, sets, ways
        self.width, self.value_width, self.seed = width, value_width, seed
        self.ops = frozenset(ops)
        self.set_bits = sets.bit_length() - 1
        self.sentron_bits = sentrons.bit_length() - 1
        assert self.set_bits + self.sentron_bits <= HASH_WIDTH
        super().__init__({
            "i": In(stream.Signature(command_layout(width, value_width))),
            "o": Out(stream.Signature(response_layout(width, value_width))),
        })

    def _sequencer(self, index):
        ops = self.ops if index == 0 else self.ops & POINT_OPS
        return Sequencer(sets=self.sets, ways=self.ways, width=self.width,
                         value_width=self.value_width, seed=self.seed, ops=ops)

    def elaborate(self, platform):
        m = Module()
        if self.sentrons == 1:
            m.submodules.sentron0 = only = self._sequencer(0)
            wiring.connect(m, wiring.flipped(self.i), only.i)
            wiring.connect(m, only.o, wiring.flipped(self.o))
            return m

        sentrons = []
        for k in range(self.sentrons):
            m.submodules[f"sentron{k}"] = sentron = self._sequencer(k)
            sentrons.append(sentron)
        m.submodules.order = order = SyncFIFOBuffered(
            width=self.sentron_bits, depth=IN_FLIGHT_PER_SENTRON * self.sentrons)

        # --- dispatch: the owner's index from the hash bits above the set index --
        rows = h3_rows(self.seed, DIMS * self.width, HASH_WIDTH)
        owner_rows = rows[self.set_bits:self.set_bits + self.sentron_bits]
        owner_bits = h3_hash(Value.cast(self.i.payload.coord), owner_rows)
        is_point = Cat(*(self.i.payload.op == op for op in POINT_OPS & self.ops)).any()
        owner = Signal(self.sentron_bits)
        m.d.comb += owner.eq(Mux(is_point & (self.i.payload.error == Status.OK), owner_bits, 0))

        held_valid = Signal()
        held = Signal(command_layout(self.width, self.value_width))
        target = Signal(self.sentron_bits)
        target_ready = Signal()
        m.d.comb += target_ready.eq(Cat(*(s.i.ready for s in sentrons)).bit_select(target, 1))
        handed = held_valid & order.w_rdy & target_ready
        load = ~held_valid | handed
        m.d.comb += self.i.ready.eq(load)
        with m.If(load):
            m.d.sync += [held_valid.eq(self.i.valid), held.eq(self.i.payload), target.eq(owner)]
        for k, sentron in enumerate(sentrons):
            m.d.comb += [sentron.i.payload.eq(held),
                         sentron.i.valid.eq(held_valid & order.w_rdy & (target == k))]
        m.d.comb += [order.w_data.eq(target), order.w_en.eq(handed)]

        # --- collect: the next answer comes from the sentron at the FIFO's head -
        head = order.r_data
        head_valid = Signal()
        m.d.comb += head_valid.eq(order.r_rdy & Cat(*(s.o.valid for s in sentrons)).bit_select(head, 1))
        answer = Signal(response_layout(self.width, self.value_width))
        with m.Switch(head):
            for k, sentron in enumerate(sentrons):
                with m.Case(k):
                    m.d.comb += answer.eq(sentron.o.payload)
        take = head_valid & (~self.o.valid | self.o.ready)
        for k, sentron in enumerate(sentrons):
            m.d.comb += sentron.o.ready.eq(take & (head == k))
        m.d.comb += order.r_en.eq(take & ~answer.more)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(take):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(answer)]
        return m

