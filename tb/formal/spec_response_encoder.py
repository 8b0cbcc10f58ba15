"""ResponseEncoder: the handshake on ``o`` (frame bytes), given it on ``i``.

The encoder reads the response where it is (in the producer's register) and
takes it with the frame's last byte (``take_early=False``) or with the last
byte read from it (``take_early``: only the CRC byte follows), so it may send
a byte only while a response is offered, or, taking early, the one byte
after: ``o.valid`` implies ``i.valid`` or ``after_take``. That is asserted too
(it is what lets the induction close: mid-frame, the bytes come from ``i``).
"""

from amaranth.hdl import Assert, Signal

from rtl.link.response_encoder import ResponseEncoder

from .common import Inside, Property, receiver, sender


def offered_bytes_only(m, encoder, label, in_crc=None):
    """``encoder`` sends a byte only while a response is offered, or, taking
    early, the CRC byte after the response it took. ``in_crc``: the encoder's
    CRC state, which is where a response taken early leaves it."""
    after_take = Signal(name="after_take")   # taken early: the CRC byte still to go
    if encoder.take_early:
        with m.If(encoder.o.valid & encoder.o.ready):
            m.d.sync += after_take.eq(0)
        with m.If(encoder.i.valid & encoder.i.ready):
            m.d.sync += after_take.eq(1)
        if in_crc is not None:
            m.d.comb += Assert(after_take == in_crc, f"{label}taken early, not in CRC")
    with m.If(encoder.o.valid):
        m.d.comb += Assert(encoder.i.valid | after_take,
                           f"{label}a byte sent with no response offered")


def handshake(take_early):
    def build(m):
        dut = ResponseEncoder(width=8, value_width=8, take_early=take_early)
        inside = Inside(m, "dut", dut)
        sender(m, dut.i, "i")
        receiver(m, dut.o, "o")
        offered_bytes_only(m, dut, "", inside.state("CRC"))
    return build


PROPERTIES = [
    Property("response_encoder_handshake", handshake(True), "prove", 3,
             "ResponseEncoder.o follows the stream rules when i does, and sends "
             "bytes only of an offered response and its CRC byte"),
    Property("response_encoder_late_handshake", handshake(False), "prove", 3,
             "ResponseEncoder(take_early=False), the ULX3S's: the same"),
]
