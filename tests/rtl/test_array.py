"""Sentron array against the golden model configured with the same geometry."""

import pytest
from amaranth.back import verilog

from sentron_driver import run_stream
from rtl.array import FRONT_OPS, POINT_OPS, SentronArray
from rtl.boards import BOARDS
from rtl.sentron.execute import IMPLEMENTED_OPS, RANGE_OPS
from rtl.topk_unit import K_MAX
from tb.stimulus import Instruction, Stimulus
from vtpu.coord import Pattern
from vtpu.isa import Op, Status
from vtpu.model import Model


def array_and_model(sentrons, sets, ways, pipelined=False, ops=IMPLEMENTED_OPS,
                    answer_domain="sync", ops_unit=False):
    dut = SentronArray(sentrons=sentrons, sets=sets, ways=ways, pipelined=pipelined, ops=ops,
                       answer_domain=answer_domain, ops_unit=ops_unit)
    return dut, Model(sentrons=sentrons, sets=sets, ways=ways, ops=ops, k_max=K_MAX)


def test_random_stream_matches_model_four_sentrons():
    """1k seeded random instructions over 4 sentrons: full sets in one sentron
    while others have room, pure ops and route table on sentron 0, range
    instructions fanned out and merged, bad opcodes; every opcode answers OK
    at least once. (make sim runs 200k through a two-sentron array in
    cocotb.)"""
    dut, model = array_and_model(4, 4, 2)
    stream = Stimulus(3, ops=frozenset(Op), keys=96, spread=5, unknown=0.01).take(1000)
    statuses = run_stream(stream, dut=dut, model=model)["statuses"]
    assert {Op(ins.op) for ins, status in zip(stream, statuses)
            if ins.raw is None and status == Status.OK} == set(Op)


@pytest.mark.parametrize("pipelined", [False, True], ids=["fsm", "pipelined"])
def test_cuckoo_sentrons_match_model(pipelined):
    """Four sentrons on the cuckoo memory (8 entries each, so that stores fill
    and keys relocate), every instruction, a clock apart when they can go."""
    memory = dict(entries=32, buckets=4, slots=2, pipelined=pipelined)
    dut = SentronArray(sentrons=4, sets=4, ways=2, memory=memory)
    model = Model(32, sentrons=4, buckets=4, slots=2, ops=IMPLEMENTED_OPS, k_max=K_MAX)
    stream = Stimulus(11, ops=frozenset(Op), keys=64, spread=5, unknown=0.01).take(500)
    run_stream(stream, dut=dut, model=model)
    assert model.memory.relocations > 0 and model.memory.refused["full"] > 0


def test_point_ops_overlap():
    """Sentrons work in parallel: point instructions for different sentrons are
    not slower than one per clock plus the array's two registers would make them."""
    dut, model = array_and_model(4, 4, 2)
    stream = Stimulus(6, ops=POINT_OPS, keys=96, spread=5, garbage=0, unknown=0).take(2000)
    stats = run_stream(stream, dut=dut, model=model)
    assert stats["cycles"] < 1.2 * len(stream), stats


def test_range_merges_every_sentron_in_z_order():
    """A CRANGE whose records live in all four sentrons comes back as one answer
    in ascending Z-order with the summed count; CDIGEST sums the digests."""
    dut, model = array_and_model(4, 4, 2)
    keys, owners = [], set()
    for k in ((3,) * 7 + (x, y) for x in range(1, 9) for y in range(1, 9)):
        if model.locate(k)[0] not in owners or len(keys) < 10:
            keys.append(k)
            owners.add(model.locate(k)[0])
        if len(owners) == 4 and len(keys) >= 10:
            break
    assert owners == {0, 1, 2, 3}
    box = Pattern((3,) * 7 + (1, 1), (3,) * 7 + (8, 8))
    prog = [Instruction(Op.CPUT, {"coord": k, "value": n}, n) for n, k in enumerate(keys)]
    prog += [Instruction(Op.CRANGE, {"pattern": box}, 100), Instruction(Op.CDIGEST, {"pattern": box}, 101),
             Instruction(Op.CHIER, {"pattern": box, "dir": 1}, 102)]
    run_stream(prog, dut=dut, model=model)
    assert len(model.crange(box).records) == len(keys)


def test_owner_is_the_models_sentron():
    """Every sentron gets keys, and a set fills up in its owner only."""
    dut, model = array_and_model(4, 2, 1)
    s = Stimulus(0, ops=IMPLEMENTED_OPS, garbage=0, unknown=0)
    owners = {}
    for key in s.keys:
        owners.setdefault(model.locate(key)[0], key)
    assert sorted(owners) == [0, 1, 2, 3]
    prog = [Instruction(Op.CPUT, {"coord": key, "value": n}, n) for n, key in enumerate(owners.values())]
    prog += [Instruction(Op.CGET, {"coord": key}, 10 + n) for n, key in enumerate(owners.values())]
    extra = next(k for k in s.keys if k != owners[2] and model.locate(k) == model.locate(owners[2]))
    prog += [Instruction(Op.CPUT, {"coord": extra, "value": 99}, 20)]          # TABLE_FULL
    prog += [Instruction(Op.CGET, {"coord": extra}, 21)]                      # NOT_FOUND
    run_stream(prog, dut=dut, model=model)


def test_pipelined_four_sentrons():
    """The ECP5 build's array (row registers, a register slice after every
    sentron) answers like the model, under back-pressure too."""
    dut, model = array_and_model(4, 4, 2, pipelined=True)
    stream = Stimulus(9, ops=frozenset(Op), keys=96, spread=5, unknown=0.01).take(800)
    run_stream(stream, dut=dut, model=model, ready_every=2)


def test_backpressure_two_sentrons():
    dut, model = array_and_model(2, 8, 2)
    run_stream(Stimulus(4, ops=IMPLEMENTED_OPS).take(500), dut=dut, model=model, ready_every=3)


def test_one_sentron_is_the_sequencer():
    dut, model = array_and_model(1, 8, 2)
    run_stream(Stimulus(5, ops=IMPLEMENTED_OPS).take(300), dut=dut, model=model)


def test_converts_to_verilog():
    assert "module" in verilog.convert(SentronArray(sentrons=2, sets=8, ways=2), name="array")


@pytest.mark.parametrize("ops_unit", [False, True])
def test_pipelined_without_range_instructions(ops_unit):
    """The pipelined ULX3S build's array (no range instructions, so no broadcast or merge:
    sentrons 1..3, or with the ops unit all four, answer only point
    instructions) against the model, under back-pressure."""
    ops = BOARDS["ulx3s-85f-pipelined"].ops
    assert not ops & RANGE_OPS
    dut, model = array_and_model(4, 4, 2, pipelined=True, ops=ops, ops_unit=ops_unit)
    stream = Stimulus(10, ops=frozenset(Op), keys=96, spread=5, unknown=0.01).take(1500)
    run_stream(stream, dut=dut, model=model, ready_every=2)


@pytest.mark.parametrize("ops_unit", [False, True])
def test_pipelined_scans_without_range_instructions(ops_unit):
    """The pipelined ULX3S build's sentron 0 (or its ops unit): without the range
    instructions a CROUTE RANGE scan is the only instruction that waits in S5,
    while the link behind it holds whatever comes next. Scans among CRTSETs and
    the instructions that follow them, under back-pressure."""
    ops = BOARDS["ulx3s-85f-pipelined"].ops
    dut, model = array_and_model(4, 4, 1, pipelined=True, ops=ops, ops_unit=ops_unit)
    mix = {Op.CROUTE: 8, Op.CRTSET: 4, Op.CDELTA: 3, Op.CHIER: 3}
    stream = Stimulus(15, ops=frozenset(Op), keys=24, unknown=0.01, mix=mix).take(800)
    run_stream(stream, dut=dut, model=model, ready_every=3)


@pytest.mark.parametrize("answer_period", [0.53e-6, 1.9e-6])
def test_answers_on_another_clock(answer_period):
    """The pipelined ULX3S build's array with its collector on the host clock (each sentron
    writes its answers into a CreditFIFO of its own and gets its slots back as
    the host takes them): against the model, under back-pressure, the host's
    clock faster and slower than the sentrons', neither a multiple. Range
    instructions too: the merge runs on the host clock. (No CKG, CATTEND or
    CNEAREST: their units take the answers on the sentrons' clock.)"""
    dut, model = array_and_model(4, 4, 2, pipelined=True, answer_domain="host",
                                 ops=IMPLEMENTED_OPS - FRONT_OPS)
    stream = Stimulus(11, ops=frozenset(Op), keys=96, spread=5, unknown=0.01).take(600)
    run_stream(stream, dut=dut, model=model, ready_every=2, answer_domain="host",
               answer_period=answer_period)


def test_ops_unit_on_another_clock():
    """The pipelined ULX3S build's array as built: four point-only sentrons and the ops
    unit, each writing its answers into a CreditFIFO of its own for the
    collector on the host clock. Every opcode the build has, in issue order,
    against the model; the sentrons execute none but the point ones. (Its CKG
    runs in front, on the host's clock: ``VTPU``, tests/rtl/test_top.py.)"""
    ops = BOARDS["ulx3s-85f-pipelined"].ops - FRONT_OPS
    dut, model = array_and_model(4, 4, 1, pipelined=True, ops=ops, answer_domain="host",
                                 ops_unit=True)
    assert [dut.unit_ops(k) for k in range(4)] == [POINT_OPS] * 4
    assert dut.unit_ops(4) == ops - POINT_OPS
    mix = {Op.CROUTE: 4, Op.CRTSET: 3, Op.CDELTA: 2, Op.CHIER: 2, Op.CMOE: 2}
    stream = Stimulus(17, ops=frozenset(Op), keys=24, unknown=0.01, mix=mix).take(800)
    run_stream(stream, dut=dut, model=model, ready_every=2, answer_domain="host",
               answer_period=0.53e-6)
