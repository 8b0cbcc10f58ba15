"""Sequencer (the iCE40 builds' sentron) against the golden model over seeded random
instruction streams; CDELTA's overflow on both sequencers."""

import pytest

from amaranth.back import verilog

from rtl.sentron.pipelined_sequencer import PipelinedSequencer
from rtl.boards import BOARDS
from rtl.sentron.execute import SENTRON_OPS
from rtl.sentron.sequencer import Sequencer
from tb.stimulus import Stimulus
from vtpu.isa import Op
from vtpu.model import Model

from sentron_driver import run_stream


def test_directed_point_ops():
    s = Stimulus(0, ops=SENTRON_OPS, garbage=0, unknown=0)
    k = s.keys
    from tb.stimulus import Instruction as I
    prog = [I(Op.CGET, {"coord": k[0]}, 0), I(Op.CPUT, {"coord": k[0], "value": 5}, 1),
            I(Op.CGET, {"coord": k[0]}, 2), I(Op.CPUT, {"coord": k[0], "value": 6}, 3),
            I(Op.CGET, {"coord": k[0]}, 4), I(Op.CDEL, {"coord": k[0]}, 5),
            I(Op.CGET, {"coord": k[0]}, 6), I(Op.CDEL, {"coord": k[0]}, 7)]
    run_stream(prog)


@pytest.mark.parametrize("pipelined", [False, True])
def test_cdelta_leaves_the_range_through_each_component(pipelined):
    """CDELTA answers OVERFLOW when any one component (not only the first or the
    last) goes past 2**W - 1 or below 0, and the sum otherwise, with the
    coordinates at the edges of the range."""
    from tb.stimulus import Instruction as I
    top, prog = (1 << 16) - 1, []
    for i in range(9):
        for coord, delta in ((top, 1), (0, -1), (top - 1, 1), (1, -1)):
            c, d = [7] * 9, [0] * 9
            c[i], d[i] = coord, delta
            prog.append(I(Op.CDELTA, {"coord": tuple(c), "delta": tuple(d)}, len(prog)))
    ops = BOARDS["ulx3s-85f-pipelined"].ops & SENTRON_OPS        # what its sentrons execute
    dut = PipelinedSequencer(sets=4, ways=1, ops=ops) if pipelined else Sequencer(sets=4, ways=1)
    run_stream(prog, dut=dut, model=Model(sets=4, ways=1, ops=ops if pipelined else SENTRON_OPS))


def test_random_stream_matches_model():
    """4k seeded random instructions: hits, misses, full sets, bad args, unknown opcodes
    (make sim runs 100k through the whole vTPU in cocotb)."""
    stream = Stimulus(1, ops=frozenset(Op), keys=64, unknown=0.01).take(4000)
    stats = run_stream(stream, sets=8, ways=2)
    print(f"sequencer: {len(stream)} instructions in {stats['cycles']} cycles, {stats['seconds']:.1f} s")


def test_backpressure():
    run_stream(Stimulus(2, ops=SENTRON_OPS).take(300), ready_every=3)


def test_converts_to_verilog():
    assert "module" in verilog.convert(Sequencer(sets=16, ways=2), name="sequencer")
