"""FrameDecoder against vtpu.frame.FrameReceiver on random streams with garbage."""

import random

from amaranth.back import verilog

from sim_helpers import feed_bytes, run_sim
from rtl.link.frame_decoder import FrameDecoder, folds_pattern
from rtl.layouts import COMMAND_FIELD
from vtpu.coord import Pattern, pack
from vtpu.frame import FrameReceiver, command_frame, decode_fields
from vtpu.isa import DIMS, MAX_HOPS, PAYLOAD, Op, Status


def random_fields(rng, op):
    coord = lambda: tuple(rng.randrange(65536) for _ in range(DIMS))  # noqa: E731
    delta = lambda: tuple(rng.randrange(-32768, 32768) for _ in range(DIMS))  # noqa: E731
    out = {}
    for f in PAYLOAD[op]:
        out[f.name] = {"coord": coord, "delta": delta, "value": lambda: rng.getrandbits(64),
                       "u8": lambda: rng.randrange(256), "u16": lambda: rng.randrange(65536),
                       "pattern": lambda: Pattern(coord(), coord(), rng.randrange(1 << 16)),
                       "deltas": lambda: None}[f.kind]()
    if op == Op.CKG:
        out["hops"] = rng.randrange(1, MAX_HOPS + 1)
        out["deltas"] = [delta() for _ in range(out["hops"])]
    return out


def stream_bytes(rng, n):
    data = bytearray()
    for i in range(n):
        if rng.random() < 0.3:
            data += bytes(rng.choice([0xA5, rng.randrange(256)]) for _ in range(rng.randrange(1, 6)))
        op = rng.choice(list(Op))
        data += command_frame(op, i % 256, **random_fields(rng, op))
    return bytes(data)


def expected_members(event, ops=frozenset(Op)):
    """What the decoder must put in each command member, packed as integers
    (of an instruction outside ``ops``, its opcode and tag alone)."""
    if isinstance(event, tuple):
        return {"error": Status.BAD_FRAME, "tag": event[1]}
    try:
        op = Op(event.op)
    except ValueError:
        return {"error": Status.BAD_OPCODE, "tag": event.tag}
    fields = decode_fields(PAYLOAD[op], event.payload)
    members = {"error": Status.OK, "tag": event.tag, "op": op}
    for name, value in (fields.items() if op in ops else ()):
        member = COMMAND_FIELD[name]
        if name == "deltas":
            # all of them, hop 0 in the low bits; and how many the length carried
            members["deltas_sent"] = len(value)
            value = sum(pack(tuple(v & 0xFFFF for v in d)) << (16 * DIMS * n)
                        for n, d in enumerate(value))
        if isinstance(value, Pattern):
            value = value.mask | pack(value.lo) << 16 | pack(value.hi) << (16 + 16 * DIMS)
        elif isinstance(value, tuple):
            value = pack(tuple(v & 0xFFFF for v in value))
        members.setdefault(member, value)
    return members


def check(seed, n, ready_prob=1.0, ops=frozenset(Op)):
    rng = random.Random(seed)
    data = stream_bytes(rng, n)
    expected = [expected_members(e, ops) for e in FrameReceiver().feed(data)]
    dut = FrameDecoder(ops=ops)
    got = []

    async def source(ctx):
        await feed_bytes(ctx, dut.i, data)

    async def sink(ctx):
        # bounded: a decoder that drops frames fails below instead of hanging
        for _ in range(20 * len(data)):
            if len(got) == len(expected):
                break
            ready = rng.random() < ready_prob
            ctx.set(dut.o.ready, ready)
            await ctx.tick()


    async def monitor(ctx):
        async for clk_edge, rst, valid, ready, payload in ctx.tick().sample(dut.o.valid, dut.o.ready, dut.o.payload):
            if valid and ready:
                got.append(payload)
            if len(got) == len(expected):
                break

    run_sim(dut, source, sink, processes=[monitor])
    assert len(got) == len(expected)
    for index, (want, cmd) in enumerate(zip(expected, got)):
        for member, value in want.items():
            actual = getattr(cmd, member)
            if member not in ("error", "op") and not isinstance(actual, int):
                actual = actual.as_value().value
            assert actual == value, f"seed {seed} frame {index}: {member} = {actual!r}, want {value!r}"


def test_random_frames_with_garbage():
    check(seed=1, n=150)


def test_backpressure():
    check(seed=2, n=60, ready_prob=0.3)


ICEBREAKER_OPS = frozenset(Op) - {Op.CROUTE, Op.CRTSET, Op.CKG, Op.CATTEND, Op.CNEAREST}


def test_pattern_folded_into_coord_operand_arg():
    """Without CATTEND a pattern lands in the coordinate's, operand's and
    argument's flops, and the output's pattern reads them: every carried
    instruction's fields still decode as the model's receiver has them."""
    assert folds_pattern(ICEBREAKER_OPS) and not folds_pattern(frozenset(Op))
    check(seed=3, n=150, ops=ICEBREAKER_OPS)
    check(seed=4, n=60, ready_prob=0.3, ops=ICEBREAKER_OPS)


def test_converts_to_verilog():
    assert "module" in verilog.convert(FrameDecoder(), name="frame_decoder")
