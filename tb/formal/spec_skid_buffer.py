"""SkidBuffer and StreamRegister: the stream handshake on ``o``, given it on ``i``."""

from rtl.link.skid_buffer import SkidBuffer
from rtl.link.stream_register import StreamRegister

from .common import Property, receiver, sender


def handshake(component):
    def build(m):
        m.submodules.dut = dut = component(4)
        sender(m, dut.i, "i")
        receiver(m, dut.o, "o")
    return build


PROPERTIES = [
    Property("skid_buffer_handshake", handshake(SkidBuffer), "prove", 2,
             "SkidBuffer.o follows the stream rules when i does"),
    Property("stream_register_handshake", handshake(StreamRegister), "prove", 2,
             "StreamRegister.o follows the stream rules when i does"),
]
