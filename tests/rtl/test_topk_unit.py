"""CATTEND and CNEAREST in gateware: the top-k unit in front of the sentrons.

The directed test checks the answers against a ranking written here (a sort
by score and by a bit interleave done here), not the model's helpers; the
streams check every answer against the golden model configured with the
build's k_max, as the other sentron tests do."""

import random
from collections import Counter

import pytest

from sentron_driver import expected_frames, run_stream
from rtl.array import SentronArray
from rtl.sentron.execute import IMPLEMENTED_OPS
from rtl.topk_unit import K_MAX
from tb.stimulus import Instruction, Stimulus
from vtpu.coord import Pattern
from vtpu.frame import parse_responses
from vtpu.isa import DIMS, RECORD, Op, Status
from vtpu.frame import decode_fields
from vtpu.model import Model


def interleave(coord):
    """Z-order (docs/isa.md): from the top bit level down, one bit of each
    component in turn, component 0 first."""
    return sum(((c >> b) & 1) << (b * DIMS + DIMS - 1 - i) for i, c in enumerate(coord)
               for b in range(16))


def lanes(value):
    return [((value >> (8 * i)) & 0xFF) - (256 if (value >> (8 * i)) & 0x80 else 0)
            for i in range(8)]


def reference(table, op, q, k, box=None, dot=False):
    """[(coord, value, score)] best first, ties in Z-order."""
    inside = [c for c in table
              if box is None or all(lo <= x <= hi for x, lo, hi in zip(c, *box))]
    if dot:
        score = lambda c: sum(a * b for a, b in zip(lanes(table[q]), lanes(table[c])))  # noqa: E731
    else:
        score = lambda c: -sum(abs(a - b) for a, b in zip(q, c))  # noqa: E731
    ranked = sorted(inside, key=lambda c: (-score(c), interleave(c)))
    return [(c, table[c], score(c)) for c in ranked[:k]]


def records(frames, op):
    out = []
    for r in parse_responses(frames):
        if r.more:
            f = decode_fields(RECORD[op], r.payload)
            out.append((f["coord"], f.get("value"), f.get("score", -f.get("distance", 0))))
    return out, parse_responses(frames)[-1].status


@pytest.mark.parametrize("sentrons", [1, 4])
def test_ranking_matches_reference(sentrons):
    """CNEAREST and CATTEND (DOT and DISTANCE) against a ranking written
    here, with many ties (a grid of keys, values of few distinct lanes), k up
    to K_MAX; and the RTL against the model, record for record."""
    rng = random.Random(5)
    table = {}
    for x in range(4):
        for y in range(4):
            table[(7, 7, 7, 7, 7, 7, 7, 10 + x, 20 + y)] = sum(rng.choice([0, 1, 255]) << (8 * i)
                                                             for i in range(8))
    prog = [Instruction(Op.CPUT, {"coord": c, "value": v}, 1) for c, v in table.items()]
    keys = sorted(table)
    box = ((7,) * 7 + (10, 20), (7,) * 7 + (12, 23))
    queries = []
    for n in range(12):
        q = rng.choice(keys)
        k = rng.randrange(1, K_MAX + 1)
        queries.append((Op.CNEAREST, {"coord": q, "k": k}, reference(table, Op.CNEAREST, q, k)))
        queries.append((Op.CATTEND, {"coord": q, "pattern": Pattern(*box), "k": k, "mode": 0},
                        reference(table, Op.CATTEND, q, k, box, dot=True)))
        far = tuple(rng.randrange(65536) for _ in range(DIMS))
        queries.append((Op.CATTEND, {"coord": far, "pattern": Pattern(*box), "k": k, "mode": 1},
                        reference(table, Op.CATTEND, far, k, box)))
    prog += [Instruction(op, fields, 50 + n) for n, (op, fields, _) in enumerate(queries)]
    model = Model(sentrons=sentrons, sets=16, ways=4, ops=IMPLEMENTED_OPS, k_max=K_MAX)
    run_stream(prog, dut=SentronArray(sentrons=sentrons, sets=16, ways=4), model=model)
    fresh = Model(sentrons=sentrons, sets=16, ways=4, ops=IMPLEMENTED_OPS, k_max=K_MAX)
    for ins in prog[:len(table)]:
        expected_frames(fresh, ins)
    ties = 0
    for ins, (op, _, want) in zip(prog[len(table):], queries):
        got_records, status = records(expected_frames(fresh, ins), op)
        assert status == Status.OK
        assert [(c, s) for c, _, s in got_records] == [(c, s) for c, _, s in want]
        ties += sum(a[2] == b[2] for a, b in zip(want, want[1:]))
    assert ties > 10


def test_bad_arguments_and_absent_query():
    """k of 0 and above K_MAX, a bad mode, a bad pattern (BAD_ARG, before
    NOT_FOUND), and DOT with nothing at q (NOT_FOUND)."""
    a = (3,) * DIMS
    good = Pattern(a, (4,) * DIMS)
    prog = [Instruction(Op.CPUT, {"coord": a, "value": 5}, 1),
            Instruction(Op.CNEAREST, {"coord": a, "k": 0}, 2),
            Instruction(Op.CNEAREST, {"coord": a, "k": K_MAX + 1}, 3),
            Instruction(Op.CNEAREST, {"coord": a, "k": K_MAX}, 4),
            Instruction(Op.CATTEND, {"coord": a, "pattern": good, "k": K_MAX + 1, "mode": 0}, 5),
            Instruction(Op.CATTEND, {"coord": a, "pattern": good, "k": 2, "mode": 2}, 6),
            Instruction(Op.CATTEND, {"coord": (9,) * DIMS, "pattern": Pattern((4,) * DIMS, a),
                                     "k": 2, "mode": 0}, 7),
            Instruction(Op.CATTEND, {"coord": (9,) * DIMS, "pattern": good, "k": 2, "mode": 0}, 8),
            Instruction(Op.CATTEND, {"coord": (9,) * DIMS, "pattern": good, "k": 2, "mode": 1}, 9)]
    model = Model(sets=16, ways=2, ops=IMPLEMENTED_OPS, k_max=K_MAX)
    statuses = run_stream(prog, dut=SentronArray(sets=16, ways=2), model=model)["statuses"]
    B = Status.BAD_ARG
    assert statuses == [Status.OK, B, B, Status.OK, B, B, B, Status.NOT_FOUND, Status.OK]


@pytest.mark.parametrize("sentrons,memory", [
    (2, None), (1, dict(entries=64)),
    (1, dict(entries=32, scan=True, bit_serial=True, hold=True))],
    ids=["set_associative", "cuckoo", "cuckoo_scanned_held"])
def test_random_stream_with_rankings(sentrons, memory):
    """Seeded random instructions with CATTEND and CNEAREST among them, every
    answer against the model; on the set-associative sentrons and on the
    cuckoo memory, also as the HX8K builds it (scanned; the sentron takes the
    unit's CRANGE only with its final answer, the records coming first)."""
    geometry = dict(entries=memory["entries"]) if memory else dict(sets=16, ways=2)
    model = Model(sentrons=sentrons, ops=IMPLEMENTED_OPS, k_max=K_MAX, **geometry)
    dut = SentronArray(sentrons=sentrons, sets=16, ways=2, memory=memory)
    stream = Stimulus(9, ops=IMPLEMENTED_OPS, keys=40, spread=4, unknown=0.01,
                      mix={Op.CATTEND: 4, Op.CNEAREST: 4}).take(150)
    statuses = run_stream(stream, dut=dut, model=model, ready_every=2, patience=20_000)["statuses"]
    ends = Counter((Op(ins.op).name, status.name)
                   for ins, status in zip(stream, statuses) if ins.raw is None)
    for bin in ("CATTEND/OK", "CATTEND/NOT_FOUND", "CATTEND/BAD_ARG", "CNEAREST/OK",
                "CNEAREST/BAD_ARG"):
        assert ends[tuple(bin.split("/"))], ends


TOP = 0xFFFF


def test_extremes_of_scores_and_of_the_coordinate_range():
    """DOT at its largest and most negative (every lane -128 or 127),
    distances across the whole range, CNEAREST at the corners and the middle
    of the space and far from every key (its box grows to the whole space)."""
    q = (0,) * DIMS
    table = {q: 0x8080808080808080, (TOP,) * DIMS: 0x8080808080808080,
             (TOP,) * 8 + (0,): 0x7F7F7F7F7F7F7F7F, (1,) + (TOP,) * 8: 0x0101010101010101}
    prog = [Instruction(Op.CPUT, {"coord": c, "value": v}, n) for n, (c, v) in enumerate(table.items())]
    everything = Pattern((0,) * DIMS, (TOP,) * DIMS, (1 << DIMS) - 1)
    prog += [Instruction(Op.CATTEND, {"coord": q, "pattern": everything, "k": 4, "mode": 0}, 10),
             Instruction(Op.CATTEND, {"coord": q, "pattern": everything, "k": 4, "mode": 1}, 11),
             Instruction(Op.CATTEND, {"coord": (TOP,) * DIMS, "pattern": everything, "k": 4,
                                      "mode": 1}, 12)]
    prog += [Instruction(Op.CNEAREST, {"coord": c, "k": k}, 13 + n) for n, (c, k) in enumerate(
        [((TOP,) * DIMS, 4), ((TOP // 2,) * DIMS, 4), (q, 3), (q, K_MAX), ((7,) * DIMS, 1)])]
    fresh = Model(sentrons=2, sets=16, ways=4, ops=IMPLEMENTED_OPS, k_max=K_MAX)
    for ins in prog[:len(table)]:
        expected_frames(fresh, ins)
    dot = records(expected_frames(fresh, prog[len(table)]), Op.CATTEND)[0]
    assert sorted(s for _, _, s in dot) == [-8 * 127 * 128, -8 * 128, 8 * 128 * 128, 8 * 128 * 128]
    run_stream(prog, dut=SentronArray(sentrons=2, sets=16, ways=4), ready_every=3,
               model=Model(sentrons=2, sets=16, ways=4, ops=IMPLEMENTED_OPS, k_max=K_MAX))


@pytest.mark.parametrize("k_max", [1, 5])
def test_other_sorter_sizes(k_max):
    """A build with a sorter of 1 or 5 entries answers k above it BAD_ARG and
    ranks the rest as the model configured the same."""
    model = Model(sentrons=2, sets=16, ways=2, ops=IMPLEMENTED_OPS, k_max=k_max)
    dut = SentronArray(sentrons=2, sets=16, ways=2, k_max=k_max)
    stream = Stimulus(3, ops=IMPLEMENTED_OPS, keys=40, spread=4, unknown=0.01,
                      mix={Op.CATTEND: 6, Op.CNEAREST: 6}).take(300)
    run_stream(stream, dut=dut, model=model, ready_every=2)


@pytest.mark.parametrize("left_out", [Op.CATTEND, Op.CNEAREST])
def test_a_build_with_one_of_the_two(left_out):
    """The instruction a build leaves out passes the unit and answers
    BAD_OPCODE; the other is ranked."""
    ops = IMPLEMENTED_OPS - {left_out}
    a = (3,) * DIMS
    prog = [Instruction(Op.CPUT, {"coord": a, "value": 5}, 1),
            Instruction(Op.CNEAREST, {"coord": a, "k": 1}, 2),
            Instruction(Op.CATTEND, {"coord": a, "pattern": Pattern(a, a), "k": 1, "mode": 1}, 3)]
    answered = run_stream(prog, dut=SentronArray(sets=16, ways=2, ops=ops),
                          model=Model(sets=16, ways=2, ops=ops, k_max=K_MAX))["statuses"]
    statuses = {ins.op: status for ins, status in zip(prog, answered)}
    assert statuses[left_out] == Status.BAD_OPCODE
    assert statuses[({Op.CATTEND, Op.CNEAREST} - {left_out}).pop()] == Status.OK
