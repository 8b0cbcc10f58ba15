"""ResponseEncoder against the golden model's answer frames."""

import random

import pytest

from amaranth.back import verilog

from tb.beats import response_beats
from sim_helpers import run_sim
from rtl.link.response_encoder import ResponseEncoder
from vtpu.coord import Pattern
from vtpu.frame import parse_responses
from vtpu.isa import DIMS, RECORD, RESULT, Dir, Op, Status
from vtpu.model import Model, Result


def rcoord(rng):
    return tuple(rng.randrange(65536) for _ in range(DIMS))


def random_answer(rng, op):
    """(model Result, direction) with random contents for ``op``."""
    status = rng.choice(list(Status))
    direction = rng.choice([Dir.UP, Dir.DOWN]) if op == Op.CHIER else None
    records = []
    if op in RECORD and (op != Op.CHIER or direction == Dir.DOWN):
        for _ in range(rng.randrange(3)):
            record = {"coord": rcoord(rng), "value": rng.getrandbits(64),
                      "distance": rng.getrandbits(32), "score": rng.randrange(-2**31, 2**31)}
            records.append({f.name: record[f.name] for f in RECORD[op]})
    fields = {}
    if op in RESULT and status == Status.OK:
        pool = {"value": rng.getrandbits(64), "coord": rcoord(rng), "node": rng.randrange(65536),
                "expert": rng.randrange(65536), "count": rng.getrandbits(32),
                "digest": rng.getrandbits(64),
                "pattern": Pattern(rcoord(rng), rcoord(rng), rng.randrange(512))}
        fields = {f.name: pool[f.name] for f in RESULT[op]}
    return Result(status, fields, records), direction


@pytest.mark.parametrize("take_early", [True, False])
def test_every_format_matches_the_model(take_early):
    rng = random.Random(3)
    model = Model()
    beats, expected = [], b""
    for i in range(3 * len(Op)):
        op = list(Op)[i % len(Op)]
        result, direction = random_answer(rng, op)
        expected += model.answer(op, i, result, direction)
        beats += response_beats(op, i, result, direction)
    dut = ResponseEncoder(take_early=take_early)
    got = bytearray()

    async def source(ctx):
        for beat in beats:
            for name, value in beat.items():
                target = getattr(dut.i.payload, name)
                ctx.set(target.as_value() if name in ("coord", "hi") else target, value)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        ctx.set(dut.o.ready, 1)
        while len(got) < len(expected):
            _, _, valid, ready, payload = await ctx.tick().sample(dut.o.valid, dut.o.ready,
                                                                  dut.o.payload)
            if valid and ready:
                got.append(payload)
            ctx.set(dut.o.ready, rng.random() < 0.8)

    run_sim(dut, source, sink)
    got_frames, want_frames = parse_responses(bytes(got)), parse_responses(expected)
    for index, (g, w) in enumerate(zip(got_frames, want_frames)):
        assert g == w, f"frame {index}: got {g}, want {w}"
    assert bytes(got) == expected


def test_converts_to_verilog():
    assert "module" in verilog.convert(ResponseEncoder(), name="response_encoder")

