"""CKG in gateware: the hop unit in front of the sentrons.

The directed tests check the answers against a walk written here from
docs/isa.md (a dict, plain integer adds), not the model's helpers; the
streams check every answer against the golden model as the other sentron
tests do."""

import pytest

from collections import Counter

from sentron_driver import expected_frames, run_stream
from rtl.array import SentronArray
from rtl.sentron.execute import IMPLEMENTED_OPS
from rtl.topk_unit import K_MAX
from tb.stimulus import Instruction, Stimulus
from vtpu.frame import parse_responses
from vtpu.isa import DIMS, MAX_HOPS, Op, Status
from vtpu.model import Model

TOP = 0xFFFF


def reference_walk(table, coord, entity, deltas):
    """(status, [(edge, value)]) of one CKG, from the text of docs/isa.md."""
    if not 0 <= entity < DIMS or not 1 <= len(deltas) <= MAX_HOPS:
        return Status.BAD_ARG, []
    node, records = list(coord), []
    for delta in deltas:
        edge = [a + b for a, b in zip(node, delta)]
        if min(edge) < 0 or max(edge) > TOP:
            return Status.OVERFLOW, records
        edge = tuple(edge)
        if edge not in table:
            return Status.NOT_FOUND, records
        records.append((edge, table[edge]))
        if table[edge] > TOP:
            return Status.OVERFLOW, records
        node[entity] = table[edge]
    return Status.OK, records


def family(people=40):
    """A family graph: person p at (p, 0, ...); edge "father" at
    (p, 1, ...) whose value is the father's number, "mother" at (p, 2, ...)."""
    table = {}
    for p in range(1, people + 1):
        table[(p, 1) + (0,) * (DIMS - 2)] = p // 2 or 1
        table[(p, 2) + (0,) * (DIMS - 2)] = p // 3 or 1
    return table


FATHER = (0, 1) + (0,) * (DIMS - 2)      # from a person (p, 0, ...) to the edge
BACK = (0, -1) + (0,) * (DIMS - 2)        # from the edge back to a person


def walks():
    """(coord, entity, deltas) covering each way a walk ends."""
    start = (37, 0) + (0,) * (DIMS - 2)
    up = [FATHER] + [tuple(a + b for a, b in zip(BACK, FATHER))] * (MAX_HOPS - 1)
    return [
        (start, 0, up[:1]),                       # one hop
        (start, 0, up),                           # eight hops: 37 18 9 4 2 1 1 1
        (start, 0, up[:3]),
        ((41, 0) + (0,) * 7, 0, up),              # no person 41: NOT_FOUND at once
        (start, 0, [FATHER, (5,) + (0,) * 8]),    # a hop to a missing edge: NOT_FOUND
        (start, 0, [FATHER, (0, -2) + (0,) * 7]),  # below zero: OVERFLOW after a record
        ((TOP,) + (0,) * 8, 0, [(1,) + (0,) * 8]),  # above the top: OVERFLOW
        (start, 9, up[:2]),                       # entity beyond the components: BAD_ARG
        ((7, 0) + (0,) * 7, 0, [(0, 2) + (0,) * 7, (0, -2) + (0,) * 7, (0, 2) + (0,) * 7]),
    ]


@pytest.mark.parametrize("sentrons", [1, 4])
def test_walks_match_reference(sentrons):
    """CKG answers, record for record, what a walk of the table gives: every
    way a walk ends, on one sentron and spread over four (each hop's CGET
    goes to the edge's owner)."""
    table = family()
    table[(9, 2) + (0,) * 7] = 1 << 40         # a value no component can hold
    prog = [Instruction(Op.CPUT, {"coord": k, "value": v}, n) for n, k_v in
            enumerate(table.items()) for k, v in [k_v]]
    prog += [Instruction(Op.CKG, {"coord": c, "entity": e, "hops": len(d), "deltas": d}, 200 + n)
             for n, (c, e, d) in enumerate(walks())]
    model = Model(sentrons=sentrons, sets=64, ways=4, ops=IMPLEMENTED_OPS, k_max=K_MAX)
    dut = SentronArray(sentrons=sentrons, sets=64, ways=4)
    run_stream(prog, dut=dut, model=model)   # the RTL answers as the model does
    # ... and the model as the walk written here (so neither is checked by itself)
    fresh = Model(sentrons=sentrons, sets=64, ways=4, ops=IMPLEMENTED_OPS, k_max=K_MAX)
    for ins in prog[:len(table)]:
        fresh.cput(ins.fields["coord"], ins.fields["value"])
    statuses = set()
    for coord, entity, deltas in walks():
        want_status, want_records = reference_walk(table, coord, entity, deltas)
        got = fresh.ckg(coord, entity, deltas)
        assert got.status == want_status
        assert [(r["coord"], r["value"]) for r in got.records] == want_records
        statuses.add(want_status)
    assert statuses == {Status.OK, Status.NOT_FOUND, Status.OVERFLOW, Status.BAD_ARG}


def test_hops_field_must_match_the_deltas():
    """A hops field that differs from the deltas the frame carries is BAD_ARG
    (the model's frame path decodes the payload and finds it the wrong size)."""
    table = family(8)
    prog = [Instruction(Op.CPUT, {"coord": k, "value": v}, 1) for k, v in table.items()]
    start = (5, 0) + (0,) * 7
    for hops in (0, 1, 3):
        prog.append(Instruction(Op.CKG, {"coord": start, "entity": 0, "hops": hops,
                                         "deltas": [FATHER] * 2}, 50 + hops))
    run_stream(prog, dut=SentronArray(sets=16, ways=2),
               model=Model(sets=16, ways=2, ops=IMPLEMENTED_OPS, k_max=K_MAX))
    assert final_statuses(prog)[-3:] == [Status.BAD_ARG, Status.BAD_ARG, Status.BAD_ARG]


def final_statuses(prog, **geometry):
    """Each instruction's final status, from a fresh model fed the frames."""
    model = Model(ops=IMPLEMENTED_OPS, k_max=K_MAX, **(geometry or dict(sets=16, ways=2)))
    return [parse_responses(expected_frames(model, ins))[-1].status for ins in prog]


@pytest.mark.parametrize("sentrons,memory", [(1, None), (2, None), (2, dict(entries=64))])
def test_random_stream_with_walks(sentrons, memory):
    """Seeded random instructions with CKG among them (walks that step to
    stored keys, end in each status, follow writes still in flight), every
    answer against the model; the answers stay in issue order around each
    walk. On the set-associative sentrons and on the cuckoo memory."""
    ops = IMPLEMENTED_OPS
    geometry = dict(entries=memory["entries"]) if memory else dict(sets=16, ways=2)
    model = Model(sentrons=sentrons, ops=ops, k_max=K_MAX, **geometry)
    dut = SentronArray(sentrons=sentrons, sets=16, ways=2, memory=memory)
    stream = Stimulus(7, ops=ops, keys=40, spread=4, unknown=0.01,
                      mix={Op.CKG: 6}).take(800)
    run_stream(stream, dut=dut, model=model, ready_every=2)
    ends = Counter((len(ins.fields["deltas"]) > 1, status)
                   for ins, status in zip(stream, final_statuses(stream, sentrons=sentrons, **geometry))
                   if ins.op == Op.CKG)
    # walks of more than one hop that end each way, and bad arguments
    assert all(ends[(True, s)] for s in (Status.OK, Status.NOT_FOUND, Status.OVERFLOW)), ends
    assert ends[(True, Status.BAD_ARG)] + ends[(False, Status.BAD_ARG)], ends
