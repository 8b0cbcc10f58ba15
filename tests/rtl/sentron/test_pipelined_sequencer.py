"""PipelinedSequencer (the ECP5 build's sentron: five stages that never stall,
credits, an answer FIFO) against the golden model over seeded random streams."""

import pytest
from amaranth.back import verilog

from rtl.boards import BOARDS
from rtl.sentron.execute import SENTRON_OPS
from rtl.sentron.pipelined_sequencer import PipelinedSequencer
from tb.stimulus import Stimulus
from vtpu.isa import Op
from vtpu.model import Model

from sentron_driver import run_stream


def test_pipelined_random_stream_matches_model():
    """The ECP5 build's sentron (five stages that never stall, credits, an answer
    FIFO), under back-pressure: 1.4k random instructions, range ones included."""
    stream = Stimulus(11, ops=frozenset(Op), keys=64, unknown=0.01).take(1400)
    run_stream(stream, dut=PipelinedSequencer(sets=8, ways=2),
               model=Model(sets=8, ways=2, ops=SENTRON_OPS), ready_every=2)


def test_pipelined_one_way_matches_model():
    """The ECP5 geometry (one way): every missed write lands on the whole row. Few
    keys, so the same set comes back within the four instructions a row misses."""
    stream = Stimulus(12, ops=frozenset(Op), keys=12, unknown=0.01).take(1500)
    run_stream(stream, dut=PipelinedSequencer(sets=4, ways=1),
               model=Model(sets=4, ways=1, ops=SENTRON_OPS), ready_every=3)


@pytest.mark.parametrize("table_groups", sorted({1, BOARDS["ulx3s-85f-pipelined"].table_groups}))
def test_pipelined_without_range_instructions_matches_model(table_groups):
    """The pipelined ULX3S build's sentron (no range instructions: no hold in S5, a scan in
    a unit of its own; its table in two memories): few keys in four one-way
    sets, so most rows miss writes of the instructions ahead."""
    ops = BOARDS["ulx3s-85f-pipelined"].ops & SENTRON_OPS        # what its sentrons execute
    stream = Stimulus(16, ops=frozenset(Op), keys=10, unknown=0.01).take(1500)
    run_stream(stream, dut=PipelinedSequencer(sets=4, ways=1, ops=ops, table_groups=table_groups),
               model=Model(sets=4, ways=1, ops=ops), ready_every=1)


def test_pipelined_ranges_with_a_slow_consumer():
    """Range answers into a full answer FIFO: each record waits for a credit while
    the row it read must stay on the table's port (the consumer takes one answer
    in twelve clocks, about as fast as the byte-serial encoder)."""
    mix = {Op.CRANGE: 6, Op.CDIGEST: 2, Op.CHIER: 3}
    stream = Stimulus(14, ops=frozenset(Op), keys=24, spread=3, unknown=0, mix=mix).take(400)
    run_stream(stream, dut=PipelinedSequencer(sets=4, ways=2),
               model=Model(sets=4, ways=2, ops=SENTRON_OPS), ready_every=12)


def test_converts_to_verilog():
    assert "module" in verilog.convert(PipelinedSequencer(sets=16, ways=2), name="sequencer")
