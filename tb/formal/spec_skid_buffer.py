"""SkidBuffer and StreamRegister: the stream handshake on ``o``, given it on ``i``."""

from rtl.link.skid_buffer import SkidBuffer
from rtl.link.stream_register import StreamRegister

from .common import Property, stream_handshake


PROPERTIES = [
    Property("skid_buffer_handshake", stream_handshake(lambda: SkidBuffer(4)), "prove", 2,
             "SkidBuffer.o follows the stream rules when i does"),
    Property("stream_register_handshake", stream_handshake(lambda: StreamRegister(4)), "prove", 2,
             "StreamRegister.o follows the stream rules when i does"),
]
