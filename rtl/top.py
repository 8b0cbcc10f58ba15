"""The vTPU as the host sees it: command bytes in, response bytes out.

    FrameDecoder -> SentronArray (N sequencers) -> ResponseEncoder

This is what the cocotb testbench, the host driver's simulator backends and
the board tops instantiate; ``ops`` says which instructions the gateware
executes (the rest answer BAD_OPCODE) and is what the golden model is
configured with when the two are compared.

``pipelined=True`` (the ECP5 build) builds the array's sentrons as
``PipelinedSequencer`` (``SentronArray``) and puts a register slice between
the array and the encoder, so the encoder's handshake stops at a register.
The decoder needs none: it holds a command in its own register until the
array takes it, and the array's dispatch register takes it without a decode
in the way.

``host_domain`` (the ECP5 build: ``"host"``) puts the byte ports and the
response encoder in a clock domain of their own, apart from the decoder and
the array in ``sync``:

    i (host) -> AsyncFIFO -> FrameDecoder -> SentronArray -> AsyncFIFO -> ResponseEncoder -> o (host)

A byte-serial host link has no use for the array's clock (a 3 Mbaud UART
moves a byte per 3.3 us), and the encoder's byte multiplexer over the 420-bit
answer was the single-clock 125 MHz build's slowest path, so it gets a clock
of its own instead of more pipeline. Both crossings are Amaranth's gray-code
AsyncFIFOs; the encoder reads the answer where it is, in the FIFO's read register.
"""

from amaranth.hdl import DomainRenamer, Module, Shape
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import AsyncFIFO
from amaranth.lib.wiring import In, Out

from vtpu.isa import COORD_WIDTH, TABLE_SEED, VALUE_WIDTH

from .frame_decoder import FrameDecoder
from .response_encoder import ResponseEncoder
from .array import SentronArray
from .sequencer import IMPLEMENTED_OPS
from .skid_buffer import SkidBuffer

__all__ = ["VTPU"]


class VTPU(wiring.Component):
    def __init__(self, *, sentrons=1, sets=64, ways=4, width=COORD_WIDTH,
                 value_width=VALUE_WIDTH, seed=TABLE_SEED, ops=IMPLEMENTED_OPS, pipelined=False,
                 host_domain="sync"):
        self.pipelined, self.host_domain = pipelined, host_domain
        self.sentrons, self.sets, self.ways = sentrons, sets, ways
        self.width, self.value_width = width, value_width
        self.seed, self.ops = seed, frozenset(ops)
        super().__init__({
            "i": In(stream.Signature(8)),
            "o": Out(stream.Signature(8)),
        })

    @property
    def entries(self):
        return self.sentrons * self.sets * self.ways

    def model(self):
        """The golden model configured like this gateware."""
        from vtpu.model import Model
        return Model(sentrons=self.sentrons, sets=self.sets, ways=self.ways, width=self.width,
                     value_width=self.value_width, seed=self.seed, ops=self.ops)

    def elaborate(self, platform):
        m = Module()
        m.submodules.decoder = decoder = FrameDecoder(self.width, self.value_width)
        m.submodules.array = sequencer = SentronArray(
            sentrons=self.sentrons, sets=self.sets, ways=self.ways, width=self.width,
            value_width=self.value_width, seed=self.seed, ops=self.ops, pipelined=self.pipelined)
        encoder = ResponseEncoder(self.width, self.value_width)
        commands, answers = decoder.o, sequencer.o
        if self.pipelined:
            m.submodules.answer_slice = answer_slice = SkidBuffer(sequencer.o.payload.shape())
            wiring.connect(m, sequencer.o, answer_slice.i)
            answers = answer_slice.o
        wiring.connect(m, commands, sequencer.i)
        host = self.host_domain
        if host == "sync":
            m.submodules.encoder = encoder
            wiring.connect(m, wiring.flipped(self.i), decoder.i)
            wiring.connect(m, answers, encoder.i)
        else:
            m.submodules.encoder = encoder = DomainRenamer(host)(encoder)
            # Bytes in: a few, the host side's own FIFO holds the rest.
            m.submodules.command_crossing = byte_fifo = AsyncFIFO(
                width=8, depth=8, w_domain=host, r_domain="sync")
            wiring.connect(m, wiring.flipped(self.i), byte_fifo.w_stream)
            # A byte reaches the decoder from flops: the decoder's byte enables
            # fan out over its 630-bit command register, and with the FIFO's
            # read logic in front of them that was a single sentron's slowest
            # path on the ECP5 (a one-sentron ULX3S build: 77.94 MHz).
            m.submodules.byte_slice = byte_slice = SkidBuffer(8)
            wiring.connect(m, byte_fifo.r_stream, byte_slice.i)
            wiring.connect(m, byte_slice.o, decoder.i)
            # Answers out: each is at least five bytes on the wire, so four in
            # flight keep the encoder busy.
            m.submodules.answer_crossing = answer_fifo = AsyncFIFO(
                width=Shape.cast(answers.payload.shape()).width, depth=4,
                w_domain="sync", r_domain=host)
            m.d.comb += [
                answer_fifo.w_data.eq(answers.payload),
                answer_fifo.w_en.eq(answers.valid),
                answers.ready.eq(answer_fifo.w_rdy),
                encoder.i.payload.eq(answer_fifo.r_data),
                encoder.i.valid.eq(answer_fifo.r_rdy),
                answer_fifo.r_en.eq(encoder.i.ready),
            ]
        wiring.connect(m, encoder.o, wiring.flipped(self.o))
        return m
