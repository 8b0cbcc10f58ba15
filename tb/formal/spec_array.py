"""Mailbox, SentronArray (two sentrons behind a dispatcher) and the whole core
(VTPU, bytes in and out): the handshake on ``o``, given it on ``i``.

Small: 2 sets of 2 ways per sentron, 8-bit values; 2-bit components in the
array, 8-bit in the core (frames need whole bytes per component).
"""

from amaranth.hdl import Assert

from rtl.array import FRONT_OPS, SentronArray
from rtl.link.mailbox import Mailbox
from rtl.sentron.execute import IMPLEMENTED_OPS
from rtl.top import VTPU

from .common import Inside, Property, receiver, sender, stream_rules
from .spec_response_encoder import offered_bytes_only

# The proofs cover the sentrons and their array; the units in front of them
# (CKG, CATTEND, CNEAREST: rtl/interposer.py) are proved alone, their sentrons
# left to the solver (spec_front_units.py): inside the array their count of
# instructions in flight has no invariant the induction can use.
SMALL = dict(sets=2, ways=2, value_width=8, ops=IMPLEMENTED_OPS - FRONT_OPS)


def mailbox(m):
    """The payload is the sender's, held until the transfer on ``o`` completes
    ``i``'s: so ``o.valid`` implies ``i.valid`` (asserted too).

    Strengthening: the request toggle goes round a ring (``req``, two flops,
    ``seen``, two flops back to ``ack_w``) and changes along it at most once:
    one payload in flight; and ``busy`` holds the sender's valid."""
    dut = Mailbox(4)
    inside = Inside(m, "dut", dut)
    sender(m, dut.i, "i")
    receiver(m, dut.o, "o")
    with m.If(dut.o.valid):
        m.d.comb += Assert(dut.i.valid, "o offered with nothing on i")
    req_sync, ack_sync = inside.inside("req_sync"), inside.inside("ack_sync")
    ring = [inside.signal("req"), req_sync.signal("stage0"), req_sync.signal("stage1"),
            inside.signal("seen"), ack_sync.signal("stage0"), ack_sync.signal("stage1")]
    changes = sum((a ^ b) for a, b in zip(ring, ring[1:]))
    busy = inside.signal("busy")
    m.d.comb += [Assert(changes <= 1, "more than one payload in flight"),
                 Assert(busy | (changes == 0), "not busy with a request in flight"),
                 Assert(~busy | dut.i.valid, "busy with nothing on i")]


def array(pipelined):
    """Besides ``o``: every stream between the array's parts -- each sentron's
    answers, and the slices after them (pipelined) -- follows the rules, and
    so does the dispatcher towards each sentron (not pipelined: a pipelined
    sentron's ``slack`` takes what its link offers without a ready, by design,
    so its ``i`` is no handshake)."""
    def build(m):
        dut = SentronArray(sentrons=2, width=2, pipelined=pipelined, **SMALL)
        inside = Inside(m, "dut", dut)
        sender(m, dut.i, "i")
        receiver(m, dut.o, "o")
        for k in range(2):
            sentron = inside.submodule(f"sentron{k}")
            stream_rules(m, sentron.o, Assert, f"sentron{k}.o")
            if pipelined:
                stream_rules(m, inside.submodule(f"slice{k}").o, Assert, f"slice{k}.o")
            else:
                stream_rules(m, sentron.i, Assert, f"sentron{k}.i")
        if not pipelined:
            # Strengthening: an instruction for one sentron is offered to that one
            # only (a broadcast to those that have not taken it yet).
            mine, held_valid = inside.signal("mine"), inside.signal("held_valid")
            broadcast = inside.signal("held_target")[0]         # its member ``all``
            m.d.comb += Assert(~held_valid | broadcast | (mine == 1) | (mine == 2),
                               "an instruction for one sentron offered to two")
    return build


def vtpu(m):
    """The core; inside it, the array's answers to the encoder follow the
    stream rules too, and the encoder sends only the bytes of an offered
    answer (what the induction needs, as in ``spec_response_encoder``)."""
    dut = VTPU(width=8, **SMALL)
    inside = Inside(m, "dut", dut)
    sender(m, dut.i, "i")
    receiver(m, dut.o, "o")
    array = inside.submodule("array")
    encoder_inside = inside.inside("encoder")
    encoder = encoder_inside.design
    stream_rules(m, array.o, Assert, "array.o")
    offered_bytes_only(m, encoder, "encoder: ", encoder_inside.state("CRC"))


PROPERTIES = [
    Property("mailbox_handshake", mailbox, "prove", 3,
             "Mailbox.o follows the stream rules when i does (one clock domain)"),
    Property("array_handshake", array(pipelined=False), "prove", 3,
             "SentronArray(2 Sequencers): o and the streams inside follow the stream "
             "rules when i does"),
    Property("array_pipelined_handshake", array(pipelined=True), "prove", 3,
             "SentronArray(2 PipelinedSequencers): o and the streams inside follow the "
             "stream rules when i does"),
    Property("vtpu_handshake", vtpu, "prove", 3,
             "VTPU (decoder, sentron, encoder).o follows the stream rules when i does"),
]
