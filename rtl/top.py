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
"""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
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
                 value_width=VALUE_WIDTH, seed=TABLE_SEED, ops=IMPLEMENTED_OPS, pipelined=False):
        self.pipelined = pipelined
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
        m.submodules.encoder = encoder = ResponseEncoder(self.width, self.value_width)
        wiring.connect(m, wiring.flipped(self.i), decoder.i)
        commands, answers = decoder.o, sequencer.o
        if self.pipelined:
            m.submodules.answer_slice = answer_slice = SkidBuffer(sequencer.o.payload.shape())
            wiring.connect(m, sequencer.o, answer_slice.i)
            answers = answer_slice.o
        wiring.connect(m, commands, sequencer.i)
        wiring.connect(m, answers, encoder.i)
        wiring.connect(m, encoder.o, wiring.flipped(self.o))
        return m
