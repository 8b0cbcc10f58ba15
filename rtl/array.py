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
head first, once every sentron has an answer up (a tournament of Z-order
compares, a registered round two clocks) -- then sends one final answer with
the counts (and digests) summed.
Everything else (the pure instructions, CRTSET and CROUTE with the one
ownership table, errors the decoder flagged) goes to sentron 0, which is the
only one built with those opcodes -- or, with ``ops_unit`` (pipelined, no
range instructions: the pipelined ULX3S build), to a unit of their own beside the
sentrons (``ops``: a ``PipelinedSequencer`` without CGET, CPUT and CDEL,
whose table is never written and so is not built), and every sentron is a
point-only one. Sentron 0 then does not carry the wide pipeline, the route
scan, the multiplier and the answer FIFO those opcodes need across the block
its table RAMs span.

Sentrons answer their own instructions in order, so recording the target of
each dispatched instruction in a FIFO and always taking the next answer from
the sentron at its head gives the answers in issue order; instructions for
different sentrons overlap freely. A FIFO entry is retired by the answer
without MORE, so multi-frame answers stay together. The FIFO holds as many
targets as the sentrons can have in flight (three pipeline stages and an
output register each); when it is full the dispatcher waits, and the head's
answer is always on its way, so this cannot deadlock.

With one sentron the array is the bare sequencer: no extra clocks.

CKG, CATTEND, CNEAREST and CDIGEST (when ``ops`` has them) run in units in
front of all this, as instructions of their own through the dispatcher
(``Interposer``): ``HopUnit`` sends each CKG hop as a CGET, so it goes to
the sentron that owns its edge; ``TopKUnit`` ranks the records of a CRANGE,
merged from every sentron, into a top-k sorter of ``k_max`` entries;
``DigestUnit`` hashes them into CDIGEST's sum (one hash, not one a
sentron). So in an array CDIGEST is a CRANGE to the sentrons, and the
digests the collector sums are a bare sequencer's.

``pipelined=True`` (the pipelined ULX3S build) builds the sentrons as
``PipelinedSequencer``: five stages that never stall, an answer FIFO each and
an intake gated by credits, so no path runs from the collector's
back-pressure into a sentron's pipeline (``i.ready`` is a flop). Nothing the
dispatcher decides drives a wide enable across the chip either: it takes the
instruction straight from its input (a stream's payload holds still until it
is taken), reads each sentron's ready from a flop of its own, a clock late,
and hands the instruction to a register beside the sentron (``link``, loaded
on every clock, one copy per sentron that the netlist keeps apart:
``rtl.replica``), which the sentron takes the next clock without a ready of
its own in the way; its ready promises room for those two clocks
(``slack``). A register slice (``SkidBuffer``) after every sentron pops its
FIFO from a flop, so the collector's decision (late in the clock, and across
the chip from the sentrons) only drives the registers next to it; three
clocks more per answer than a sentron alone, the same rate. Cuckoo sentrons
(``memory``) get the slice too when they answer range instructions: the
merge's choice then stops at it rather than reaching into their state
machines.

``answer_domain`` (pipelined only; the pipelined ULX3S build: the host link's clock)
puts the collector on another clock: each sentron writes its answers into a
``CreditFIFO`` of its own and gets its credits back as the collector empties it
(no slices then), and the order FIFO crosses too. Answers leave the board one
byte at a time, so the host's clock has the time the core's lacks for the
merge of four 421-bit answer streams.
"""

from amaranth.hdl import Cat, Const, DomainRenamer, Module, Mux, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from vtpu.isa import COORD_WIDTH, DIMS, HASH_WIDTH, TABLE_SEED, VALUE_WIDTH, Dir, Op, Status
from vtpu.hash import h3_rows

from .digest_unit import DigestUnit
from .hop_unit import HopUnit
from .topk_unit import K_MAX, TopKUnit
from .link.credit_fifo import CreditFIFO
from .sentron.hash_unit import table_hash as table_hash_of
from .layouts import command_layout, hashed_command_layout, pattern_turn_signature, response_layout
from .sentron.pipelined_sequencer import PipelinedSequencer, may_wait, one_hot
from .replica import replica
from .sentron.execute import IMPLEMENTED_OPS, RANGE_OPS, pattern_bad
from .sentron.cuckoo_sequencer import CuckooSequencer
from .sentron.sequencer import Sequencer
from .link.skid_buffer import SkidBuffer
from .sentron.zindex import ZIndex
from .sentron.zorder import merge_groups, merge_parts, z_parts

__all__ = ["SentronArray", "POINT_OPS", "FRONT_OPS", "Ports", "front_units", "connect_through"]

# Instructions that touch one key and go to the sentron owning it.
POINT_OPS = frozenset({Op.CGET, Op.CPUT, Op.CDEL})

# Instructions the units in front of the sentrons run (``_front_units``).
FRONT_OPS = frozenset({Op.CKG, Op.CATTEND, Op.CNEAREST, Op.CDIGEST})

# Instructions one sentron can hold between accepting and answering (three
# pipeline stages and the answer register).
IN_FLIGHT_PER_SENTRON = 4
# Instructions a pipelined sentron in an array may be sent after its ready
# falls: the dispatcher reads the ready a clock late, and the link register
# beside the sentron takes one more clock.
LINK_SLACK = 2
# The pipelined array's order FIFO: more than its round trip (dispatch, five
# stages, the answer FIFO, collect), so it never holds back one per clock.
IN_FLIGHT_PIPELINED = 16


def front_units(m, ops, *, width, value_width, k_max, domain="sync", front=FRONT_OPS):
    """The units that run ``ops``' CKG, CATTEND, CNEAREST and CDIGEST (those of
    them in ``front``) in front of sentrons executing the rest, as instructions
    of their own through them (``Interposer``), added to ``m`` on clock
    ``domain``: the hop unit, the top-k unit, then the digest unit."""
    units = []
    ops = ops - (FRONT_OPS - front)
    inner_ops = ops - FRONT_OPS
    if Op.CKG in ops:
        assert Op.CGET in inner_ops, "CKG's hops are CGETs"
        units.append(("hops", HopUnit(width, value_width)))
    if ops & {Op.CATTEND, Op.CNEAREST}:
        assert {Op.CGET, Op.CRANGE} <= inner_ops, "CATTEND and CNEAREST rank a CRANGE"
        units.append(("topk", TopKUnit(width, value_width, k_max=k_max, ops=ops)))
    if Op.CDIGEST in ops:
        assert Op.CRANGE in inner_ops, "CDIGEST hashes a CRANGE"
        units.append(("digest", DigestUnit(width, value_width)))
    for name, unit in units:
        m.submodules[name] = unit if domain == "sync" else DomainRenamer(domain)(unit)
    return [unit for _, unit in units]


def connect_through(m, units, commands, answers, inner):
    """commands -> each unit -> ``inner``'s ``i``; ``inner``'s ``o`` -> each
    unit back -> answers."""
    for unit in units:
        wiring.connect(m, commands, unit.i)
        wiring.connect(m, unit.answer, answers)
        commands, answers = unit.o, unit.answers
    wiring.connect(m, commands, inner.i)
    wiring.connect(m, inner.o, answers)


class Ports:
    """A command port and an answer port: a sentron's, or what ``connect_through``
    connects the last unit in front to."""
    def __init__(self, i, o):
        self.i, self.o = i, o


class SentronArray(wiring.Component):
    def __init__(self, *, sentrons=1, sets=64, ways=4, width=COORD_WIDTH,
                 value_width=VALUE_WIDTH, seed=TABLE_SEED, ops=IMPLEMENTED_OPS, pipelined=False,
                 answer_domain="sync", table_groups=1, ops_unit=False, memory=None,
                 k_max=K_MAX, index_queue=ZIndex.QUEUE):
        assert sentrons >= 1 and sentrons & (sentrons - 1) == 0, \
            "sentrons must be a power of two"
        assert pipelined or answer_domain == "sync", \
            "answers cross to another clock only from PipelinedSequencer sentrons (credits)"
        assert not frozenset(ops) & FRONT_OPS or answer_domain == "sync", \
            "the units in front (FRONT_OPS) take the sentrons' answers on their clock"
        self.k_max = k_max
        self.index_queue = index_queue        # each sentron's ``ZIndex`` queue
        self.answer_domain = answer_domain
        self.sentrons, self.sets, self.ways = sentrons, sets, ways
        self.width, self.value_width, self.seed = width, value_width, seed
        self.ops = frozenset(ops)
        self.pipelined = pipelined
        assert pipelined or table_groups == 1, "only PipelinedSequencer tables split into groups"
        self.table_groups = table_groups
        assert not ops_unit or (pipelined and sentrons > 1 and not self.ops & RANGE_OPS), \
            "an ops unit stands beside pipelined sentrons that answer no range instruction"
        self.ops_unit = ops_unit
        # the cuckoo memory (``rtl.top.VTPU``'s ``memory``): the owner is hash
        # bits [0, sentron_bits), each sentron's buckets the bits above them
        assert memory is None or not (pipelined or ops_unit), "PipelinedSequencer is the set-associative table's"
        self.memory = memory
        # A scanned memory's one sentron hashes CDIGEST's entries itself, a bit
        # a clock (``CuckooSequencer``'s ``scan``, or ``spram``, whose walk
        # hashes each hit where its key is put): no digest unit in front.
        # Several sentrons' digests are summed by the one in front, as for a
        # Z-order index's.
        digests_itself = memory is not None and sentrons == 1 and \
            (memory.get("scan", False) or memory.get("spram", False))
        # ``hold``: the sentron works on the instruction where the decoder holds it
        assert not (memory or {}).get("hold") or sentrons == 1, "a held instruction is one sentron's"
        self.front_ops = FRONT_OPS - {Op.CDIGEST} if digests_itself else FRONT_OPS
        self.set_bits = sets.bit_length() - 1
        self.sentron_bits = sentrons.bit_length() - 1
        self.owner_shift = 0 if memory is not None else self.set_bits
        assert self.set_bits + self.sentron_bits <= HASH_WIDTH
        # one sentron on the serial store that walks ranges turns the pattern
        # where the decoder holds it (``CuckooSequencer``'s ``turn``)
        self.turns = (memory or {}).get("spram", False) and bool(self.ops & RANGE_OPS)
        assert not self.turns or (sentrons == 1 and not self.ops & self.front_ops), \
            "the serial store's walk turns the pattern where the decoder holds it: one " \
            "sentron, with no unit in front"
        super().__init__({
            "i": In(stream.Signature(command_layout(width, value_width))),
            "o": Out(stream.Signature(response_layout(width, value_width))),
            **({"turn": Out(pattern_turn_signature(width))} if self.turns else {}),
        })

    @property
    def units(self):
        """The sentrons, and the ops unit after them if there is one."""
        return self.sentrons + self.ops_unit

    @property
    def full_unit(self):
        """The index of the unit that executes the instructions that are not point ones."""
        return self.sentrons if self.ops_unit else 0

    def _is_ops_unit(self, index):
        return self.ops_unit and index == self.full_unit

    def unit_ops(self, index):
        """The opcodes unit ``index`` (a sentron, or the ops unit) is built with."""
        if index == self.full_unit:
            return self.ops - POINT_OPS if self.ops_unit else self.ops
        # Every sentron holds keys, so every one answers the range instructions
        # for its share (CHIER for DOWN, which is a CRANGE).
        return self.ops & (POINT_OPS | RANGE_OPS | ({Op.CHIER} if self.ops & RANGE_OPS else set()))

    def _sequencer(self, index):
        ops = self.unit_ops(index)
        if self._is_ops_unit(index):
            # no point instructions: the table is never written (two rows, which
            # the netlist drops), nor split
            sets, ways, groups = 2, 1, 1
        else:
            sets, ways, groups = self.sets, self.ways, self.table_groups
        # In an array a pipelined sentron takes its instructions from a link
        # register, two clocks after the dispatcher saw its ready (``slack``).
        extra = dict(answer_domain=self.answer_domain, table_groups=groups,
                     slack=LINK_SLACK if self.sentrons > 1 else 0) if self.pipelined else {}
        if self.memory is not None:
            return CuckooSequencer(
                entries=self.memory["entries"] // self.sentrons, buckets=self.memory.get("buckets"),
                slots=self.memory.get("slots", 4), max_moves=self.memory.get("max_moves", 2),
                sentron_bits=self.sentron_bits, spram=self.memory.get("spram", False),
                serial_regions=self.memory.get("serial_regions", False),
                pipelined=self.memory.get("pipelined", False), scan=self.memory.get("scan", False),
                hold=self.memory.get("hold", False),
                bit_serial=self.memory.get("bit_serial", False),
                registered=self.memory.get("registered", False),
                width=self.width, value_width=self.value_width, seed=self.seed, ops=ops,
                hashed=self.sentrons > 1, index_queue=self.index_queue)
        kind = PipelinedSequencer if self.pipelined else Sequencer
        return kind(sets=sets, ways=ways, width=self.width,
                    value_width=self.value_width, seed=self.seed, ops=ops,
                    hashed=self.sentrons > 1, index_queue=self.index_queue, **extra)

    def _link(self, m, k, held, sentron):
        """Sentron ``k``'s copy of the dispatch register, loaded on every clock.
        Without the range instructions the sentrons other than ``full_unit``
        execute only CGET, CPUT and CDEL, so their copies hold only the fields
        those read."""
        if k == self.full_unit or self.ops & RANGE_OPS or self.memory is not None:
            # every member a sentron reads: not CKG's deltas (the hop unit's)
            members = {name: field.shape for name, field in held.shape()
                       if name not in ("deltas", "deltas_sent")}
            link = replica(data.StructLayout(members), name=f"link{k}", reset_less=True)
            m.d.sync += [getattr(link, name).eq(getattr(held, name)) for name in members]
            m.d.comb += [getattr(sentron.i.payload, name).eq(getattr(link, name))
                         for name in members]
            return
        point = data.StructLayout({
            "op": Op, "tag": held.tag.shape(), "error": Status, "coord": held.coord.shape(),
            "value": self.value_width, "set": self.set_bits, "waits": 1})
        link = replica(point, name=f"link{k}", reset_less=True)
        m.d.sync += [link.op.eq(held.op), link.tag.eq(held.tag), link.error.eq(held.error),
                     link.coord.eq(held.coord), link.value.eq(held.operand),
                     link.set.eq(held.hash), link.waits.eq(held.waits)]
        payload = sentron.i.payload
        m.d.comb += [payload.op.eq(link.op), payload.tag.eq(link.tag),
                     payload.error.eq(link.error), payload.coord.eq(link.coord),
                     payload.operand.eq(link.value), payload.hash.eq(link.set),
                     payload.waits.eq(link.waits)]

    def _front_units(self, m):
        """CKG, CATTEND, CNEAREST and CDIGEST run in front of the sentrons (``front_units``)."""
        units = front_units(m, self.ops, width=self.width, value_width=self.value_width,
                            k_max=self.k_max, front=self.front_ops)
        m.submodules.sentrons = inner = SentronArray(
            sentrons=self.sentrons, sets=self.sets, ways=self.ways, width=self.width,
            value_width=self.value_width, seed=self.seed, ops=self.ops - self.front_ops,
            pipelined=self.pipelined, answer_domain=self.answer_domain,
            table_groups=self.table_groups, ops_unit=self.ops_unit, memory=self.memory,
            index_queue=self.index_queue)
        connect_through(m, units, wiring.flipped(self.i), wiring.flipped(self.o), inner)
        return m

    def elaborate(self, platform):
        m = Module()
        if self.ops & self.front_ops:
            return self._front_units(m)
        if self.sentrons == 1:
            m.submodules.sentron0 = only = self._sequencer(0)
            wiring.connect(m, wiring.flipped(self.i), only.i)
            wiring.connect(m, only.o, wiring.flipped(self.o))
            if self.turns:
                wiring.connect(m, only.turn, wiring.flipped(self.turn))
            return m

        crossing = self.answer_domain != "sync"
        collect = m.d[self.answer_domain]
        sentrons = []         # what dispatch and collect see of each sentron
        held_at_most = 0      # pipelined: answers a sentron and its slice can hold
        for k in range(self.units):
            name = "ops" if self._is_ops_unit(k) else f"sentron{k}"
            m.submodules[name] = sentron = self._sequencer(k)
            if crossing:
                # Its answers come out of a CreditFIFO of its own, on the collector's clock.
                held_at_most = sentron.answers
            elif self.pipelined or (self.memory is not None and self.ops & RANGE_OPS):
                # (a cuckoo sentron's slice keeps the merge's choice out of its
                # state machine: the four-sentron ULX3S's)
                held_at_most = sentron.answers + 2 if self.pipelined else 0
                m.submodules[f"slice{k}"] = out = SkidBuffer(sentron.o.payload.shape())
                wiring.connect(m, sentron.o, out.i)
                sentron = Ports(sentron.i, out.o)
            sentrons.append(sentron)
        # A range instruction goes to every sentron ("all"); without the range
        # instructions the flag has no bits and the broadcast/merge logic is not built.
        broadcast = bool(self.ops & RANGE_OPS)
        order_shape = data.StructLayout({"all": int(broadcast),
                                         "target": (self.units - 1).bit_length()})
        if self.pipelined:
            # Every instruction in the order FIFO (all but the head, which is in
            # ``hot``) holds a credit of a sentron it went to, or sits in that
            # sentron's slice, or in its link on the way to claiming one (which
            # the sentron's ``slack`` keeps room for): its answers are not
            # taken before it is the head.
            # So the FIFO cannot fill, and its ``w_rdy`` stays out of the offer
            # to the sentrons.
            depth = max(IN_FLIGHT_PIPELINED, self.units * held_at_most)
        else:
            depth = IN_FLIGHT_PER_SENTRON * self.sentrons
        if crossing:
            # Read on the collector's clock. Its writer sees the reads a few clocks
            # late, so it is twice as deep as it can ever hold: the writer never
            # finds it full.
            order = CreditFIFO(width=order_shape.size, depth=1 << (2 * depth - 1).bit_length(),
                               w_domain="sync", r_domain=self.answer_domain)
        else:
            order = SyncFIFOBuffered(width=order_shape.size, depth=depth)
        m.submodules.order = order

        # --- dispatch: the owner's index from the hash bits above the set index --
        # The coordinate is hashed once, here, and the hash goes to the sentron
        # with the instruction: its table address then comes from the dispatch
        # register, not through a hash tree on the far side of the chip.
        cmd = self.i.payload
        table_hash = table_hash_of(m, Value.cast(cmd.coord),
                                   h3_rows(self.seed, DIMS * self.width, HASH_WIDTH))
        owner_bits = table_hash[self.owner_shift:self.owner_shift + self.sentron_bits]
        ok = cmd.error == Status.OK
        is_point = Cat(*(cmd.op == op for op in POINT_OPS & self.ops)).any()
        is_range = Cat(*(cmd.op == op for op in RANGE_OPS & self.ops)).any()
        if self.ops & RANGE_OPS:
            is_range |= (cmd.op == Op.CHIER) & (cmd.mode == Dir.DOWN)
        owner = Signal(order_shape["target"].shape)
        m.d.comb += owner.eq(Mux(is_point & ok, owner_bits, self.full_unit))

        hashed = Signal(hashed_command_layout(self.width, self.value_width))
        m.d.comb += hashed.eq(Cat(cmd, table_hash, may_wait(cmd, self.ops),
                                  pattern_bad(cmd.pattern)))
        target = Signal(order_shape)
        readies = Cat(*(s.i.ready for s in sentrons))
        if self.pipelined:
            handed = self._dispatch_to_links(m, sentrons, hashed, readies, is_range & ok, owner)
            m.d.comb += [target.all.eq(is_range & ok), target.target.eq(owner)]
            # The target is written a clock after the hand-off, from flops: the
            # decision (the input's valid, the readies seen) into the FIFO's
            # write pointer and RAM enables was seven LUTs deep. Its answer is
            # five clocks away at least.
            m.d.sync += [order.w_data.eq(target), order.w_en.eq(handed)]
        else:
            handed = self._dispatch_held(m, sentrons, hashed, readies, is_range & ok, owner,
                                         order.w_rdy, target)
            m.d.comb += [order.w_data.eq(target), order.w_en.eq(handed)]

        # --- collect: the next answer comes from the sentron at the FIFO's head -
        # The head is kept one-hot in a register of its own (``hot``, all zero
        # while there is none), so taking the answer of sentron k is one gate of
        # flops: its head bit, its answer's valid and the output register's state.
        head = data.View(order_shape, order.r_data)
        hot = Signal(self.units)
        head_all = Signal()
        out_free = ~self.o.valid | self.o.ready
        answer = Signal(response_layout(self.width, self.value_width))
        valids = Cat(*(s.o.valid for s in sentrons))
        chosen = Signal(self.units)         # the units whose answers are taken
        retire = Signal()                   # the head's last answer is taken
        for k, sentron in enumerate(sentrons):
            m.d.comb += chosen[k].eq(hot[k] & sentron.o.valid & out_free)
        m.d.comb += [
            answer.eq(one_hot(*((hot[k], s.o.payload) for k, s in enumerate(sentrons)))),
            retire.eq((chosen & ~Cat(*(s.o.payload.more for s in sentrons))).any()),
        ]
        if broadcast:
            merged_answer = Signal.like(answer)
            answer_valid, merged, merged_retire = Signal(), Signal(self.sentrons), Signal()
            self._merge(m, sentrons, valids, merged_answer, answer_valid, merged, merged_retire)
            with m.If(head_all):
                m.d.comb += [chosen.eq(0), answer.eq(merged_answer), retire.eq(0)]
                with m.If(answer_valid & out_free):
                    m.d.comb += [chosen.eq(merged), retire.eq(merged_retire)]
        take = chosen.any()
        for k, sentron in enumerate(sentrons):
            m.d.comb += sentron.o.ready.eq(chosen[k])
        # The head register loads the next target as the last one retires.
        with m.If(~hot.any() | retire):
            m.d.comb += order.r_en.eq(1)
            collect += [hot.eq(Mux(order.r_rdy, 1 << head.target, 0)),
                        head_all.eq(order.r_rdy & head.all)]
            if broadcast:
                with m.If(order.r_rdy & head.all):
                    collect += hot.eq(~0)
        # The answer register loads whenever it is free, an answer taken or not
        # (``o.valid`` says which): its enable is two flops beside it, not the
        # sentrons' valids from across the chip fanned out over 421 bits.
        # Its payload flops are not reset: only the valid says anything after one.
        answer_held = Signal.like(answer, reset_less=True)
        m.d.comb += self.o.payload.eq(answer_held)
        with m.If(out_free):
            collect += [self.o.valid.eq(take), answer_held.eq(answer)]
        return m

    def _dispatch_held(self, m, sentrons, hashed, readies, broadcast, owner, room, target):
        """The sequencers' dispatch: the instruction waits in a register (its
        sentrons take it from there as they are ready); returns ``handed``."""
        held_valid = Signal()
        held = Signal.like(hashed, reset_less=True)
        # the sentrons still to take the held instruction: its owner, or (a
        # broadcast) those that have not yet; a register, so an offer is two flops
        mine = Signal(self.sentrons)
        held_target = Signal.like(target)
        handed = Signal()
        with m.If(held_target.all):
            m.d.comb += handed.eq(held_valid & room & (~mine | readies).all())
        with m.Else():
            m.d.comb += handed.eq(held_valid & room & (mine & readies).any())
        load = ~held_valid | handed
        m.d.comb += [self.i.ready.eq(load), target.eq(held_target)]
        with m.If(load):
            m.d.sync += [held_valid.eq(self.i.valid), held.eq(hashed),
                         mine.eq(Mux(broadcast, (1 << self.sentrons) - 1,
                                     Const(1, self.sentrons) << owner)),
                         held_target.all.eq(broadcast), held_target.target.eq(owner)]
        with m.Elif(held_target.all):
            m.d.sync += mine.eq(mine & ~Mux(room, readies, 0))
        for k, sentron in enumerate(sentrons):
            m.d.comb += [sentron.i.payload.eq(held),
                         sentron.i.valid.eq(held_valid & room & mine[k])]
        return handed

    def _dispatch_to_links(self, m, sentrons, hashed, readies, broadcast, owner):
        """The pipelined sentrons' dispatch, from the input itself (a stream's
        payload holds still until it is taken) into a register beside each
        sentron (``link``), with no enable: nothing decided here fans out over
        a wide register across the chip. Returns ``handed``.

        A sentron's ready is read from a flop here, a clock late, and its link
        takes one more clock, so it takes an instruction two clocks after this
        decision: its ready promises room for those two more (``slack``). A
        sentron just handed a waiting instruction closes its intake, which
        shows here two clocks later: until then nothing more is offered to it.
        A broadcast is offered to each sentron once (``given``), and taken from
        the input once all have it."""
        n = self.units
        seen = Signal(n, init=(1 << n) - 1)       # as the sentrons' own, out of reset
        waits_handed = [Signal(n, name=f"waits_handed{i}") for i in (1, 2)]
        m.d.sync += [seen.eq(readies), waits_handed[1].eq(waits_handed[0])]
        able = seen & ~(waits_handed[0] | waits_handed[1])
        given = Signal(n)                        # the broadcast's sentrons so far
        mine = Mux(broadcast, ~given, Const(1, n) << owner)
        offers = Signal(n)
        handed = Signal()
        m.d.comb += [offers.eq(Mux(self.i.valid, mine & able, 0)),
                     handed.eq(Mux(broadcast, (given | offers).all(), offers.any())),
                     self.i.ready.eq(handed)]
        m.d.sync += [given.eq(Mux(handed, 0, given | Mux(broadcast, offers, 0))),
                     waits_handed[0].eq(Mux(hashed.waits, offers, 0))]
        for k, sentron in enumerate(sentrons):
            # Loaded on every clock: copies the netlist keeps apart (``replica``),
            # each placed by its own sentron.
            self._link(m, k, hashed, sentron)
            link_valid = replica(name=f"link{k}_valid")
            m.d.sync += link_valid.eq(offers[k])
            m.d.comb += sentron.i.valid.eq(link_valid)
        return handed

    def _merge(self, m, sentrons, valids, answer, answer_valid, chosen, retire):
        """A range instruction went to every sentron; each answers its records in
        Z-order, then a final frame. The next record out is the smallest head
        among the sentrons still sending records, known only once every sentron
        has an answer up; when all are at their final frames, one final goes out
        with the counts (and CDIGEST's digests, mod 2**64) summed.

        The heads meet in a tournament of 144-bit Z-order comparisons, one
        registered round two clocks (the collector's): combinational, two rounds of it
        and the choice fed back into the sentrons were 26 logic levels, the
        four-sentron ULX3S's slowest path. Its verdict stands for the heads as
        they were as many clocks before, so it is taken once they have held
        still that long (no answer taken, no valid changed since); records
        leave for a byte-serial link, which has clocks to spare."""
        sync = m.d[self.answer_domain]

        def smaller(a, b, name):
            """Whether head ``a`` (has a record, key, index) goes before ``b``:
            a record beats a final, then Z-order. The Z-order compare's
            slices are registered before their merge: a 144-bit compare and
            the multiplexer it drives in one clock were 12 logic levels. (The
            slices are 24 bits, three 8-bit ones merged: fewer to merge after.)"""
            a_more, a_coord, b_more, b_coord = a[0], a[1], b[0], b[1]
            parts = []
            for k, (less, equal) in enumerate(merge_groups(z_parts(b_coord, a_coord,
                                                                   self.width), 3)):
                # (named by their first 8-bit slice)
                regs = Signal(name=f"{name}_less{3 * k}"), Signal(name=f"{name}_equal{3 * k}")
                # (not ``sync +=``: that would make ``sync`` this function's own)
                m.d[self.answer_domain] += [regs[0].eq(less), regs[1].eq(equal)]
                parts.append(regs)
            return Mux(a_more & b_more, ~merge_parts(parts), a_more)

        entrants = [(s.o.payload.more, s.o.payload.coord, Const(k, range(self.sentrons)))
                    for k, s in enumerate(sentrons)]
        rounds = 0
        while len(entrants) > 1:
            nxt = []
            for n, (a, b) in enumerate(zip(entrants[::2], entrants[1::2])):
                first = Signal(name=f"merge{rounds}_{n}_first")
                m.d.comb += first.eq(smaller(a, b, f"merge{rounds}_{n}"))
                more = Signal(name=f"merge{rounds}_{n}_more")
                coord = Signal.like(a[1], name=f"merge{rounds}_{n}_coord", reset_less=True)
                index = Signal(range(self.sentrons), name=f"merge{rounds}_{n}_index")
                sync += [more.eq(Mux(first, a[0], b[0])), coord.eq(Mux(first, a[1], b[1])),
                         index.eq(Mux(first, a[2], b[2]))]
                nxt.append((more, coord, index))
            entrants = nxt
            rounds += 1
        best_more, _, best_index = entrants[0]
        stages = 2 * rounds                     # two clocks a round

        # clocks the heads have held still, this one included (up to stages + 1)
        took, valids_before = Signal(), Signal.like(valids)
        held_before = Signal(range(stages + 2))
        held = Signal.like(held_before)
        sync += [took.eq(Cat(*(s.o.valid & s.o.ready for s in sentrons)).any()),
                 valids_before.eq(valids), held_before.eq(held)]
        m.d.comb += held.eq(Mux(took | (valids != valids_before), 1,
                                Mux(held_before == stages + 1, stages + 1, held_before + 1)))

        m.d.comb += answer_valid.eq(valids.all() & (held == stages + 1))
        with m.If(best_more):
            m.d.comb += [answer.eq(one_hot(*((best_index == k, s.o.payload)
                                             for k, s in enumerate(sentrons)))),
                         chosen.eq(Const(1, self.sentrons) << best_index), retire.eq(0)]
        with m.Else():
            first = sentrons[0].o.payload
            count = sum((s.o.payload.aux for s in sentrons[1:]), first.aux)
            # (with a digest unit in front, no sentron answers CDIGEST)
            digest = sum((s.o.payload.value for s in sentrons[1:]), first.value) \
                if Op.CDIGEST in self.ops else first.value
            m.d.comb += [answer.eq(first), answer.aux.eq(count), answer.value.eq(digest),
                         chosen.eq(~0), retire.eq(1)]
