"""ResponseEncoder: the handshake on ``o`` (frame bytes), given it on ``i``.

The encoder reads the response where it is (in the producer's register) and
takes it with the frame's last byte, so it may send a byte only while a
response is offered: ``o.valid`` implies ``i.valid``. That is asserted too
(it is what lets the induction close: mid-frame, the bytes come from ``i``).
"""

from amaranth.hdl import Assert

from rtl.link.response_encoder import ResponseEncoder

from .common import Property, receiver, sender


def handshake(m):
    m.submodules.dut = dut = ResponseEncoder(width=8, value_width=8)
    sender(m, dut.i, "i")
    receiver(m, dut.o, "o")
    with m.If(dut.o.valid):
        m.d.comb += Assert(dut.i.valid, "a byte sent with no response offered")


PROPERTIES = [
    Property("response_encoder_handshake", handshake, "prove", 3,
             "ResponseEncoder.o follows the stream rules when i does, and sends "
             "bytes only of an offered response"),
]
