"""CDIGEST in front of the sentrons: the digest unit hashes a CRANGE's records.

The directed test checks each answer against a digest worked out here (each
key's H3 hash bit j the parity of its bits under row j, summed mod 2**64),
not the model's helpers; every answer is also checked against the model."""

import random
import pytest

from sentron_driver import expected_frames, run_stream
from rtl.array import SentronArray
from rtl.sentron.execute import IMPLEMENTED_OPS
from tb.stimulus import Instruction
from vtpu.coord import Pattern
from vtpu.frame import decode_fields, parse_responses
from vtpu.hash import h3_rows
from vtpu.isa import DIGEST_SEED, DIMS, RESULT, Op, Status
from vtpu.model import Model


def reference(table, lo, hi):
    """(count, digest) of the keys inside [lo, hi]."""
    rows = h3_rows(DIGEST_SEED, DIMS * 16 + 64, 64)
    inside = [(c, v) for c, v in table.items() if all(a <= x <= b for x, a, b in zip(c, lo, hi))]
    total = 0
    for coord, value in inside:
        bits = sum(x << (16 * i) for i, x in enumerate(coord)) | value << (16 * DIMS)
        total += sum(((bits & row).bit_count() & 1) << j for j, row in enumerate(rows))
    return len(inside), total % (1 << 64)


@pytest.mark.parametrize("sentrons,memory", [(1, None), (4, None), (2, dict(entries=64))])
def test_digests_match_reference(sentrons, memory):
    rng = random.Random(sentrons)
    table = {}
    while len(table) < 40:
        table[tuple(rng.randrange(8) for _ in range(DIMS))] = rng.getrandbits(64)
    prog = [Instruction(Op.CPUT, {"coord": c, "value": v}, 1) for c, v in table.items()]
    boxes = [((0,) * DIMS, (7,) * DIMS), ((9,) * DIMS, (9,) * DIMS)]
    for _ in range(10):            # around a key, most components wide open
        centre, reach = rng.choice(list(table)), [rng.choice([1, 7, 7]) for _ in range(DIMS)]
        boxes.append((tuple(max(0, c - r) for c, r in zip(centre, reach)),
                      tuple(min(7, c + r) for c, r in zip(centre, reach))))
    boxes.append(((0,) * DIMS, (7,) * DIMS))
    prog += [Instruction(Op.CDIGEST, {"pattern": Pattern(lo, hi)}, 50 + n)
             for n, (lo, hi) in enumerate(boxes)]
    bad = Pattern((5,) + (0,) * (DIMS - 1), (4,) + (7,) * (DIMS - 1))      # lo > hi
    prog.append(Instruction(Op.CDIGEST, {"pattern": bad}, 99))
    geometry = dict(entries=memory["entries"]) if memory else dict(sets=16, ways=4)
    run_stream(prog, dut=SentronArray(sentrons=sentrons, sets=16, ways=4, memory=memory),
               model=Model(sentrons=sentrons, ops=IMPLEMENTED_OPS, **geometry))
    fresh = Model(sentrons=sentrons, ops=IMPLEMENTED_OPS, **geometry)
    answers = [parse_responses(expected_frames(fresh, ins)) for ins in prog]
    # the keys stored (the set-associative table refuses some)
    stored = {c: v for (c, v), a in zip(table.items(), answers) if a[-1].status == Status.OK}
    assert len(stored) > 20
    counts = []
    for (lo, hi), answer in zip(boxes, answers[len(table):]):
        final, = answer
        assert final.status == Status.OK
        fields = decode_fields(RESULT[Op.CDIGEST], final.payload)
        assert (fields["count"], fields["digest"]) == reference(stored, lo, hi)
        counts.append(fields["count"])
    assert counts[0] == len(stored) and counts[1] == 0 and len(set(counts)) > 3
    assert answers[-1][-1].status == Status.BAD_ARG
