"""The units in front of the sentron array (``rtl/interposer.py``): HopUnit
(CKG), TopKUnit (CATTEND, CNEAREST) and DigestUnit (CDIGEST), each alone, its sentrons left to the
solver: the handshake on ``o`` (towards the sentrons) and ``answer``, given
it on ``i`` and ``answers``.

The sentrons are assumed to answer only what they were sent: an answer
arrives while an instruction passed on is outstanding or the unit works (its
own instructions' answers). Anything else is a sentron that invents answers,
and the unit rightly never waits for one.

Small: 2-bit components, 8-bit values (one int8 lane), a sorter of 2 entries.
"""

from amaranth.hdl import Assert, Assume

from rtl.digest_unit import DigestUnit
from rtl.hop_unit import HopUnit
from rtl.topk_unit import TopKUnit

from .common import Inside, Property, receiver, sender


def front(make):
    def build(m):
        dut = make()
        inside = Inside(m, "dut", dut)
        sender(m, dut.i, "i")
        sender(m, dut.answers, "answers")
        receiver(m, dut.o, "o")
        receiver(m, dut.answer, "answer")
        working = inside.signal("working")
        owed = (inside.signal("outstanding") != 0) | working
        with m.If(dut.answers.valid):
            m.d.comb += Assume(owed)
        # Strengthening: the unit works exactly while its state machine is out of PASS.
        # While it works, the claimed instruction waits on ``i`` (taken as it
        # finishes): its fields, which the unit reads there, hold.
        m.d.comb += [Assert(working == ~inside.state("PASS"), "working out of step with the FSM"),
                     Assert(~working | dut.i.valid, "working with no instruction on i")]
    return build


PROPERTIES = [
    Property("hop_unit_handshake", front(lambda: HopUnit(width=2, value_width=8, in_flight=4)),
             "prove", 3,
             "HopUnit's o and answer follow the stream rules when i and the sentrons' answers do"),
    Property("topk_unit_handshake",
             front(lambda: TopKUnit(width=2, value_width=8, k_max=2, in_flight=4)), "prove", 3,
             "TopKUnit's o and answer follow the stream rules when i and the sentrons' answers do"),
    Property("digest_unit_handshake",
             front(lambda: DigestUnit(width=2, value_width=8, in_flight=4)), "prove", 3,
             "DigestUnit's o and answer follow the stream rules when i and the sentrons' answers do"),
]
