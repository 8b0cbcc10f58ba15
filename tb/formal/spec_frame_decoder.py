"""FrameDecoder: the handshake on ``o``; it never hangs and never drops a frame.

"Hunting" is the decoder's HUNT state: waiting for a sync byte, as
``vtpu.frame.FrameReceiver`` does between frames. A frame is at most
OP, TAG, LEN, ``MAX_PAYLOAD`` payload bytes and CRC after its sync byte.
"""

from amaranth.hdl import Assert, Cat, Signal

from rtl.link.frame_decoder import FrameDecoder
from vtpu.isa import MAX_PAYLOAD

from .common import Inside, Property, sender, stream_handshake

# width 8: the frames need whole bytes per component; the shortest the decoder takes
WIDTH, VALUE_WIDTH = 8, 8
# bytes a frame takes after its sync byte: OP, TAG, LEN, the payload, CRC
MAX_FRAME = MAX_PAYLOAD + 4


handshake = stream_handshake(lambda: FrameDecoder(width=WIDTH, value_width=VALUE_WIDTH))


def never_hangs(m):
    """With ``o`` always ready and any bytes in: at most ``MAX_FRAME`` bytes are
    taken after a sync byte before the decoder hunts again, it never goes
    back to hunting without an instruction out (a frame is answered, never
    dropped), and ``i.ready`` is never low more than two clocks running
    (CHECK, then the instruction's clock)."""
    dut = FrameDecoder(width=WIDTH, value_width=VALUE_WIDTH)
    inside = Inside(m, "dut", dut)
    sender(m, dut.i, "i")
    m.d.comb += dut.o.ready.eq(1)
    state = {name: inside.state(name)
             for name in ("HUNT", "OP", "TAG", "LEN", "CHECK", "PAYLOAD", "CRC")}
    taken = dut.i.valid & dut.i.ready

    since = Signal(range(MAX_FRAME + 2))      # bytes taken since the sync byte
    with m.If(state["HUNT"]):
        m.d.sync += since.eq(0)
    with m.Elif(taken):
        m.d.sync += since.eq(since + 1)
    m.d.comb += Assert(since <= MAX_FRAME, "a frame took more than MAX_FRAME bytes")

    was_hunting = Signal(init=1)
    m.d.sync += was_hunting.eq(state["HUNT"])
    with m.If(state["HUNT"] & ~was_hunting):
        m.d.comb += Assert(dut.o.valid, "back to HUNT without an instruction")

    low = Signal(range(4))                    # clocks running with i.ready low, before this one
    m.d.sync += low.eq(0)
    with m.If(~dut.i.ready):
        m.d.sync += low.eq(low + 1)
        m.d.comb += Assert(low < 2, "i.ready low three clocks running")

    # Strengthening: where ``since`` stands in each state (the byte count a
    # frame's LEN implies), so the induction closes in a few clocks. Internal:
    # the decoder's ``left`` (payload bytes to come). CHECK's own registers
    # (LEN's tests) are pinned by the states on either side of it.
    length = Signal(8)                        # the frame's LEN byte
    with m.If(state["LEN"] & taken):
        m.d.sync += length.eq(dut.i.payload)
    left = inside.signal("left")
    m.d.comb += [
        Assert(~state["OP"] | (since == 0), "OP: not right after the sync byte"),
        Assert(~state["TAG"] | (since == 1), "TAG: not the second byte"),
        Assert(~state["LEN"] | (since == 2), "LEN: not the third byte"),
        Assert(~state["CHECK"] | (since == 3), "CHECK: not after the third byte"),
        Assert(~state["PAYLOAD"] | ((length <= MAX_PAYLOAD) & (left < length)
                                    & (since + left + 1 == 3 + length)),
               "PAYLOAD: bytes taken and to come are not LEN's"),
        Assert(~state["CRC"] | ((since == 3 + length) & (length <= MAX_PAYLOAD)),
               "CRC: not after LEN payload bytes"),
        Assert(state["HUNT"] | ~dut.o.valid, "an instruction out mid-frame"),
        Assert(Cat(*state.values()).any(), "the FSM is in none of its states"),
    ]


PROPERTIES = [
    Property("frame_decoder_handshake", handshake, "prove", 3,
             "FrameDecoder.o follows the stream rules when i does"),
    Property("frame_decoder_never_hangs", never_hangs, "prove", 3,
             "FrameDecoder hunts again within MAX_FRAME bytes of any input, answers every "
             "frame it leaves, and i.ready is never low more than 2 clocks running"),
]
