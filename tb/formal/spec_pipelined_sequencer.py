"""PipelinedSequencer (the ECP5 sentron): the handshake on ``o``; the table's
contract, bounded.

A small configuration: 2 sets, 2-bit components, 8-bit values, an answer
FIFO of 8 (the fewest its credits allow).

The table's contract (``tb.formal.table_model``) is checked from reset for
``TABLE_DEPTH`` clocks, not proved: the induction would need an invariant for
each of the five stages' forwarding registers (``prefold``, ``older``, the
slice compares, ``wlast``, the write registers). An instruction accepted at
clock t is answered on ``o`` at t + ``LATENCY`` (5), so every instruction
accepted in the first ``TABLE_DEPTH - LATENCY`` clocks is checked against the
model, behind every spacing of writes the forwarding covers (1 to 5 clocks,
the late write included) and every pattern of gaps in the intake. The
consumer is always ready here: this pipeline never waits for it (its
back-pressure reaches the intake only through credits, as gaps), and the
FIFO behind the pipeline is in ``pipelined_sequencer_handshake``; with a
free ``o.ready`` the check took minutes instead of seconds.
One way, as the ECP5 builds it; ``table_groups=2`` (the ULX3S's table as two
memories) too. The sentron takes its hash with the instruction, as in the
ULX3S's array (``hashed``), and the spec gives it H3: the contract holds
for any function of the key, and with the table hash's nonlinear round the
check ran past its 10 minutes (the hash is checked bit for bit in
simulation, tests/rtl/sentron/test_hash_unit.py).
"""

from amaranth.hdl import Assume, Value

from rtl.layouts import coord_layout
from rtl.sentron.execute import pattern_bad
from rtl.sentron.hash_unit import h3_hash
from rtl.sentron.pipelined_sequencer import LATENCY, PipelinedSequencer, may_wait
from vtpu.hash import h3_rows
from vtpu.isa import DIMS, HASH_WIDTH, TABLE_SEED, Op

from .common import Property, any_const, sender, stream_handshake
from .table_model import table_contract

SMALL = dict(sets=2, ways=2, width=2, value_width=8, answers=8)
POINT_OPS = frozenset({Op.CGET, Op.CPUT, Op.CDEL})
TABLE_DEPTH = 12
assert TABLE_DEPTH - LATENCY > 5      # a write 5 ahead of a checked instruction


handshake = stream_handshake(lambda: PipelinedSequencer(**SMALL))


def table(**options):
    def build(m):
        config = dict(SMALL, ways=1)
        m.submodules.dut = dut = PipelinedSequencer(ops=POINT_OPS, hashed=True, **config,
                                                    **options)
        sender(m, dut.i, "i")
        # what an array hands a sentron with the instruction (``rtl.array``), H3 for the hash
        payload = dut.i.payload
        rows = h3_rows(TABLE_SEED, DIMS * config["width"], HASH_WIDTH)
        m.d.comb += [Assume(payload.hash == h3_hash(Value.cast(payload.coord), rows)),
                     Assume(payload.waits == may_wait(payload, POINT_OPS)),
                     Assume(payload.pattern_bad == pattern_bad(payload.pattern))]
        m.d.comb += dut.o.ready.eq(1)
        key = Value.cast(any_const(m, coord_layout(config["width"]), "key"))
        # in flight: the answer FIFO's slots (credits) and the one on ``o``
        table_contract(m, dut, key, in_flight=config["answers"] + 1,
                       value_width=config["value_width"])
    return build


PROPERTIES = [
    Property("pipelined_sequencer_handshake", handshake, "prove", 3,
             "PipelinedSequencer.o follows the stream rules when i does (every opcode)"),
    Property("pipelined_sequencer_table", table(), "bmc", TABLE_DEPTH,
             "PipelinedSequencer, one way (CGET/CPUT/CDEL): every answer on a key k is the "
             "one-key model's",
             why=f"bounded: the instructions of the first {TABLE_DEPTH - LATENCY} clocks"),
    Property("pipelined_sequencer_table_groups", table(table_groups=2), "bmc", TABLE_DEPTH,
             "PipelinedSequencer, one way in two memories as the ULX3S builds it: every "
             "answer on a key k is the one-key model's",
             why=f"bounded: the instructions of the first {TABLE_DEPTH - LATENCY} clocks"),
]
