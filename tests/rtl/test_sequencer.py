"""Sequencer against the golden model over seeded random instruction streams."""

import time
import pytest

from amaranth.back import verilog

from beats import beat_bytes, command_members, set_members
from sim_helpers import run_sim, until_ready
from rtl.pipelined_sequencer import PipelinedSequencer
from rtl.boards import BOARDS
from rtl.sequencer import IMPLEMENTED_OPS, Sequencer
from tb.stimulus import Stimulus
from vtpu.frame import Command, decode_fields, encode_fields
from vtpu.isa import PAYLOAD, Op, Status
from vtpu.model import Model

MEMBERS = ("op", "tag", "status", "more", "coord", "hi", "mask", "value", "aux")


def expected_frames(model, ins):
    """The model's answer frames; fields go through the wire encoding first
    (deltas wrap to W bits exactly as they do on the way to the RTL)."""
    if ins.raw is not None:
        return model.command(Command(ins.op, ins.tag, b""))
    fields = decode_fields(PAYLOAD[ins.op], encode_fields(PAYLOAD[ins.op], ins.fields))
    result = model.run(ins.op, **fields)
    return model.answer(Op(ins.op), ins.tag, result, fields.get("dir"))


def run_stream(instructions, *, sets=16, ways=2, ready_every=1, dut=None, model=None,
               answer_domain="sync", answer_period=None):
    """Drive ``dut`` (a Sequencer, or anything with its ports) and compare every
    answer with ``model``'s; both default to a sequencer of ``sets x ways``.
    ``answer_domain``: the clock ``dut.o`` is on (``answer_period`` seconds;
    ``sync`` is 1 us)."""
    model = model or Model(sets=sets, ways=ways, ops=IMPLEMENTED_OPS)
    want = [expected_frames(model, ins) for ins in instructions]
    dut = dut or Sequencer(sets=sets, ways=ways)
    got = []
    stats = {}

    async def source(ctx):
        for ins in instructions:
            if ins.raw is not None:
                members = {"op": Op.CGET, "tag": ins.tag,   # the decoder flagged it: op unused
                           "error": Status.BAD_OPCODE}
            else:
                members = command_members(ins.op, ins.tag, ins.fields)
            ctx.set(dut.i.payload.as_value(), 0)
            set_members(ctx, dut.i.payload, members)
            ctx.set(dut.i.valid, 1)
            if not await until_ready(ctx, dut.i.ready, 2000):
                return                  # the sink reports the stopped answers
        ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        cycle, idle, finals = 0, 0, 0
        while finals < len(instructions) and idle < 1000:   # idle: a hang fails, not loops
            ctx.set(dut.o.ready, cycle % ready_every == 0)
            _, _, valid, ready, payload = await ctx.tick(answer_domain).sample(
                dut.o.valid, dut.o.ready, dut.o.payload)
            cycle += 1
            idle = 0 if valid else idle + 1
            if valid and ready:
                beat = {}
                for name in MEMBERS:
                    v = getattr(payload, name)
                    beat[name] = int(v) if not hasattr(v, "as_value") else v.as_value().value
                got.append(beat)
                finals += not beat["more"]
        stats["cycles"] = cycle

    start = time.time()
    clocks = {answer_domain: answer_period} if answer_domain != "sync" else {}
    run_sim(dut, source, sink, clocks=clocks)
    stats["seconds"] = time.time() - start
    # Group the beats per instruction (the last beat of each has more = 0).
    per_instruction, current = [], b""
    for beat in got:
        current += beat_bytes(beat)
        if not beat["more"]:
            per_instruction.append(current)
            current = b""
    for index, (ins, w, g) in enumerate(zip(instructions, want, per_instruction)):
        assert g == w, f"instruction {index} {ins}: RTL {g.hex()} model {w.hex()}"
    assert len(per_instruction) == len(instructions), \
        f"answers stopped after {len(per_instruction)} of {len(instructions)} instructions"
    return stats


def test_directed_point_ops():
    s = Stimulus(0, ops=IMPLEMENTED_OPS, garbage=0, unknown=0)
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
    ops = BOARDS["ulx3s-85f"].ops
    dut = PipelinedSequencer(sets=4, ways=1, ops=ops) if pipelined else Sequencer(sets=4, ways=1)
    run_stream(prog, dut=dut, model=Model(sets=4, ways=1, ops=ops if pipelined else IMPLEMENTED_OPS))


def test_random_stream_matches_model():
    """4k seeded random instructions: hits, misses, full sets, bad args, unknown opcodes
    (make sim runs 100k through the whole vTPU in cocotb)."""
    stream = Stimulus(1, ops=frozenset(Op), keys=64, unknown=0.01).take(4000)
    stats = run_stream(stream, sets=8, ways=2)
    print(f"sequencer: {len(stream)} instructions in {stats['cycles']} cycles, {stats['seconds']:.1f} s")


def test_backpressure():
    run_stream(Stimulus(2, ops=IMPLEMENTED_OPS).take(300), ready_every=3)


def test_pipelined_random_stream_matches_model():
    """The ECP5 build's sentron (five stages that never stall, credits, an answer
    FIFO), under back-pressure: 2.5k random instructions, range ones included."""
    stream = Stimulus(11, ops=frozenset(Op), keys=64, unknown=0.01).take(2500)
    run_stream(stream, dut=PipelinedSequencer(sets=8, ways=2),
               model=Model(sets=8, ways=2, ops=IMPLEMENTED_OPS), ready_every=2)


def test_pipelined_one_way_matches_model():
    """The ECP5 geometry (one way): every missed write lands on the whole row. Few
    keys, so the same set comes back within the four instructions a row misses."""
    stream = Stimulus(12, ops=frozenset(Op), keys=12, unknown=0.01).take(1500)
    run_stream(stream, dut=PipelinedSequencer(sets=4, ways=1),
               model=Model(sets=4, ways=1, ops=IMPLEMENTED_OPS), ready_every=3)


@pytest.mark.parametrize("table_groups", sorted({1, BOARDS["ulx3s-85f"].table_groups}))
def test_pipelined_without_range_instructions_matches_model(table_groups):
    """The ULX3S build's sentron (no range instructions: no hold in S5, a scan in
    a unit of its own; its table in two memories): few keys in four one-way
    sets, so most rows miss writes of the instructions ahead."""
    ops = BOARDS["ulx3s-85f"].ops
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
               model=Model(sets=4, ways=2, ops=IMPLEMENTED_OPS), ready_every=12)


def test_converts_to_verilog():
    assert "module" in verilog.convert(Sequencer(sets=16, ways=2), name="sequencer")
    assert "module" in verilog.convert(PipelinedSequencer(sets=16, ways=2), name="sequencer")
