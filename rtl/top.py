"""The vTPU as the host sees it: command bytes in, response bytes out.

    FrameDecoder -> SentronArray (N sequencers) -> ResponseEncoder

This is what the cocotb testbench, the host driver's simulator backends and
the board tops instantiate; ``ops`` says which instructions the gateware
executes (the rest answer BAD_OPCODE) and is what the golden model is
configured with when the two are compared.

``pipelined=True`` (the pipelined ULX3S build) builds the array's sentrons as
``PipelinedSequencer`` (``SentronArray``) and, on one clock, puts a register
slice between the array and the encoder, so the encoder's handshake stops at
a register. The decoder needs none: it holds a command in its own register
until the array takes it.

``table_groups`` (pipelined only; the pipelined ULX3S build: 2) splits each sentron's
table into that many memories with ports of their own
(``PipelinedSequencer``); ``ops_unit`` (the pipelined ULX3S build) gives the
instructions that are not point ones a unit of their own beside the
sentrons (``SentronArray``).

``host_domain`` (the ULX3S builds: ``"host"``) gives everything that works a
byte at a time a clock of its own, apart from the sentrons on ``sync``:

    i (host) -> FrameDecoder -> Mailbox -> SentronArray's dispatch and sentrons (sync)
             -> each sentron's CreditFIFO -> SentronArray's collector (host) -> ResponseEncoder -> o

A byte-serial host link has no use for the sentrons' clock (a 3 Mbaud UART
moves a byte per 3.3 us; a command is twenty bytes and more, an answer five
and more), and on the ECP5 its blocks were the 125 MHz core clock's slowest
paths: the decoder's enables over its 630-bit command register, the
encoder's byte multiplexer over the 421-bit answer, the collector merging
four answer streams from across the chip. A command crosses by handshake
(``Mailbox``: the decoder holds it until the array has taken it), the answers
through a ``CreditFIFO`` per sentron (``SentronArray(answer_domain=...)``). The
non-pipelined sequencers have no credits to hand answers across clocks, so
their answers cross after the array, through one AsyncFIFO. The units that
run CKG, CATTEND, CNEAREST and CDIGEST through the sentrons (``rtl.array.front_units``)
work on the host's clock, in front of the Mailbox, and see the answers once
they have crossed; on one clock, they are in the array.
"""

from amaranth.hdl import DomainRenamer, Module, Shape
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import AsyncFIFO
from amaranth.lib.wiring import In, Out

from vtpu.isa import COORD_WIDTH, TABLE_SEED, VALUE_WIDTH

from .link.frame_decoder import FrameDecoder
from .link.mailbox import Mailbox
from .link.response_encoder import ResponseEncoder
from .array import FRONT_OPS, SentronArray, Ports, connect_through, front_units
from .sentron.execute import IMPLEMENTED_OPS
from .sentron.zindex import ZIndex
from .topk_unit import K_MAX
from .link.skid_buffer import SkidBuffer

__all__ = ["VTPU"]



GATEWARE_KNOBS = ("spram", "serial_regions", "pipelined", "scan", "bit_serial", "hold",
                  "registered")


def model_memory(memory):
    """A cuckoo ``memory`` as the model takes it: less the gateware's own knobs
    (``spram``, where the entries are kept; ``serial_regions``, how the
    Z-order index tests a region; ``pipelined``, how point instructions
    run; ``scan``, range instructions by scanning the store; ``bit_serial``,
    how the key is hashed; ``hold``, where the instruction is kept;
    ``registered``, the registers of a fast clock)."""
    return {k: v for k, v in memory.items() if k not in GATEWARE_KNOBS}


class VTPU(wiring.Component):
    def __init__(self, *, sentrons=1, sets=64, ways=4, width=COORD_WIDTH,
                 value_width=VALUE_WIDTH, seed=TABLE_SEED, ops=IMPLEMENTED_OPS, pipelined=False,
                 host_domain="sync", table_groups=1, ops_unit=False, memory=None, k_max=K_MAX,
                 index_queue=ZIndex.QUEUE):
        """``memory``: None for the set-associative table of ``sets`` x ``ways`` a
        sentron; or the cuckoo memory (``CuckooSequencer`` sentrons), as a dict
        of ``entries`` (in all), ``buckets`` (a sentron; default: twice the
        slots of its entries), ``slots`` and ``max_moves``, as the model takes
        them, and ``spram``: each sentron's entry store in 64-bit words, four an
        entry (``SerialEntryStore``; its range walk ``SerialScan``, one sentron
        that turns the pattern where the decoder holds it), and
        ``serial_regions``: each Z-order index's region tests a component a
        clock (``ZIndex``), and ``pipelined``: each sentron's point
        instructions through its pipeline, and ``scan``: sentrons whose range
        instructions scan their stores, with no Z-order index, ``bit_serial``:
        one sentron that hashes each key a bit a clock, and ``hold``: one
        sentron that works on the instruction where the decoder holds it (all
        three ``CuckooSequencer``'s). ``pipelined``
        (the argument) is the set-associative table's ``PipelinedSequencer``."""
        assert memory is None or not pipelined, "PipelinedSequencer is the set-associative table's"
        self.memory = dict(memory) if memory is not None else None
        self.pipelined, self.host_domain = pipelined, host_domain
        self.table_groups, self.ops_unit = table_groups, ops_unit
        self.sentrons, self.sets, self.ways = sentrons, sets, ways
        self.width, self.value_width = width, value_width
        self.seed, self.ops = seed, frozenset(ops)
        self.k_max = k_max       # the top-k unit's entries (CATTEND, CNEAREST)
        self.index_queue = index_queue    # each sentron's Z-order index queue
        super().__init__({
            "i": In(stream.Signature(8)),
            "o": Out(stream.Signature(8)),
        })

    @property
    def entries(self):
        if self.memory is not None:
            return self.memory["entries"]
        return self.sentrons * self.sets * self.ways

    def model(self):
        """The golden model configured like this gateware."""
        from vtpu.model import Model
        if self.memory is not None:
            geometry = model_memory(self.memory)
        else:
            geometry = dict(sets=self.sets, ways=self.ways)
        return Model(sentrons=self.sentrons, width=self.width, value_width=self.value_width,
                     seed=self.seed, ops=self.ops, k_max=self.k_max, **geometry)

    def elaborate(self, platform):
        m = Module()
        host = self.host_domain
        apart = host != "sync"
        decoder = FrameDecoder(self.width, self.value_width, ops=self.ops)
        # With a host clock apart, the units in front of the sentrons (CKG,
        # CATTEND, CNEAREST) work on it, before the commands cross: their
        # answers reach it there (pipelined sentrons hand theirs to the host
        # clock inside the array, the others through a FIFO here), and their
        # long adds and compares stay off the core's clock (CKG's hop adder
        # set the cuckoo ULX3S's core at 44 MHz).
        front_on_host = apart and bool(self.ops & FRONT_OPS)
        m.submodules.array = sequencer = SentronArray(
            sentrons=self.sentrons, sets=self.sets, ways=self.ways, width=self.width,
            value_width=self.value_width, seed=self.seed,
            ops=self.ops - FRONT_OPS if front_on_host else self.ops, pipelined=self.pipelined,
            answer_domain=host if apart and self.pipelined else "sync",
            table_groups=self.table_groups, ops_unit=self.ops_unit, memory=self.memory,
            k_max=self.k_max, index_queue=self.index_queue)
        # taking an answer early cuts the chain from the wire's handshake into
        # a sentron's next step, which a clock-domain crossing cuts already
        encoder = ResponseEncoder(self.width, self.value_width, take_early=not apart)
        if not apart:
            m.submodules.decoder = decoder
            m.submodules.encoder = encoder
            wiring.connect(m, wiring.flipped(self.i), decoder.i)
            wiring.connect(m, decoder.o, sequencer.i)
            if sequencer.turns:
                wiring.connect(m, sequencer.turn, decoder.turn)
            answers = sequencer.o
            if self.pipelined:
                m.submodules.answer_slice = answer_slice = SkidBuffer(sequencer.o.payload.shape())
                wiring.connect(m, sequencer.o, answer_slice.i)
                answers = answer_slice.o
            wiring.connect(m, answers, encoder.i)
            wiring.connect(m, encoder.o, wiring.flipped(self.o))
            return m

        # (the serial store's walk turns the pattern in the decoder: one clock)
        assert not sequencer.turns, "a sentron that turns the held pattern needs one clock"
        # The decoder takes a byte a clock: it works on the host's clock, and
        # whole commands cross to the array's.
        m.submodules.decoder = decoder = DomainRenamer(host)(decoder)
        m.submodules.encoder = encoder = DomainRenamer(host)(encoder)
        wiring.connect(m, wiring.flipped(self.i), decoder.i)
        wiring.connect(m, encoder.o, wiring.flipped(self.o))
        m.submodules.command_crossing = command_crossing = Mailbox(
            decoder.o.payload.shape(), w_domain=host, r_domain="sync")
        wiring.connect(m, command_crossing.o, sequencer.i)
        if self.pipelined:
            answers = sequencer.o
        else:
            # Answers out: each is at least five bytes on the wire, so four in
            # flight keep the encoder busy. A register slice first: the FIFO's
            # full flag (from its pointers' Gray codes) through the array's
            # choice of answer into its order FIFO was 10.5 logic levels.
            m.submodules.answer_slice = answer_slice = SkidBuffer(sequencer.o.payload.shape())
            wiring.connect(m, sequencer.o, answer_slice.i)
            m.submodules.answer_crossing = answer_fifo = AsyncFIFO(
                width=Shape.cast(sequencer.o.payload.shape()).width, depth=4,
                w_domain="sync", r_domain=host)
            answers = stream.Signature(sequencer.o.payload.shape()).create()
            m.d.comb += [
                answer_fifo.w_data.eq(answer_slice.o.payload),
                answer_fifo.w_en.eq(answer_slice.o.valid),
                answer_slice.o.ready.eq(answer_fifo.w_rdy),
                answers.payload.eq(answer_fifo.r_data),
                answers.valid.eq(answer_fifo.r_rdy),
                answer_fifo.r_en.eq(answers.ready),
            ]
        if front_on_host:
            units = front_units(m, self.ops, width=self.width, value_width=self.value_width,
                                k_max=self.k_max, domain=host)
            connect_through(m, units, decoder.o, encoder.i, Ports(command_crossing.i, answers))
        else:
            wiring.connect(m, decoder.o, command_crossing.i)
            wiring.connect(m, answers, encoder.i)
        return m
