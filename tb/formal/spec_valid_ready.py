"""No ``valid`` a component sends depends on the ``ready`` it is sent with
(Amaranth's stream rule: the receiver may wait for ``valid`` before raising
``ready``, so a ``valid`` that waited for ``ready`` could deadlock).

A netlist check, not a proof: no path of combinational cells may run from
``ready`` to ``valid`` (a flop or a memory ends a path; the memories here
read through registered addresses). ``ready`` depending on ``valid`` is
allowed (StreamRegister, Sequencer: ``i.ready`` follows ``o.ready``).
"""

from rtl.array import FRONT_OPS, SentronArray
from rtl.link.frame_decoder import FrameDecoder
from rtl.link.mailbox import Mailbox
from rtl.link.response_encoder import ResponseEncoder
from rtl.link.skid_buffer import SkidBuffer
from rtl.link.stream_register import StreamRegister
from rtl.link.uart import UARTRx
from rtl.sentron.cuckoo_sequencer import CuckooSequencer
from rtl.sentron.pipelined_sequencer import PipelinedSequencer
from rtl.sentron.sequencer import Sequencer
from rtl.sentron.zindex import ZIndex
from rtl.sentron.zscan import ZScan
from rtl.sentron.execute import IMPLEMENTED_OPS
from rtl.top import VTPU

from .common import Property

# The proofs cover the sentrons and their array; the units in front of them
# (CKG, CATTEND, CNEAREST: rtl/interposer.py) are proved alone, their sentrons
# left to the solver (spec_front_units.py): inside the array their count of
# instructions in flight has no invariant the induction can use.
SMALL = dict(sets=2, ways=2, value_width=8, ops=IMPLEMENTED_OPS - FRONT_OPS)

DESIGNS = {
    "skid_buffer": (lambda: SkidBuffer(4), ("o",)),
    "stream_register": (lambda: StreamRegister(4), ("o",)),
    "mailbox": (lambda: Mailbox(4), ("o",)),
    "uart_rx": (lambda: UARTRx(4), ("o",)),
    "frame_decoder": (lambda: FrameDecoder(width=8, value_width=8), ("o",)),
    "response_encoder": (lambda: ResponseEncoder(width=8, value_width=8), ("o",)),
    "zindex": (lambda: ZIndex(slots=4, width=2, queue=16), ("hits",)),
    "zscan": (lambda: ZScan(slots=4, width=2), ("hits",)),
    "sequencer": (lambda: Sequencer(width=2, **SMALL), ("o",)),
    "pipelined_sequencer": (lambda: PipelinedSequencer(width=2, answers=8, **SMALL), ("o",)),
    "cuckoo_sequencer": (lambda: CuckooSequencer(entries=8, width=2, value_width=8), ("o",)),
    "cuckoo_sequencer_pipelined": (lambda: CuckooSequencer(entries=8, width=2, value_width=8,
                                                           pipelined=True), ("o",)),
    "array": (lambda: SentronArray(sentrons=2, width=2, **SMALL), ("o",)),
    "array_pipelined": (lambda: SentronArray(sentrons=2, width=2, pipelined=True, **SMALL),
                        ("o",)),
    "vtpu": (lambda: VTPU(width=8, **SMALL), ("o",)),
}

PROPERTIES = [
    Property(f"{name}_valid_not_from_ready", make, "struct", 0,
             f"{name}: no combinational path from {'/'.join(streams)}.ready to .valid",
             streams=streams)
    for name, (make, streams) in DESIGNS.items()
]
