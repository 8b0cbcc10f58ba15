"""Drive a sentron (a sequencer, or an array with its ports) with instructions
and compare every answer with the golden model's; shared by the sequencer and
array tests."""

import time

from tb.beats import beat_bytes, command_members, set_members
from sim_helpers import run_sim, until_ready
from rtl.sentron.execute import SENTRON_OPS
from rtl.sentron.sequencer import Sequencer
from vtpu.frame import Command, encode_fields, parse_responses
from vtpu.isa import PAYLOAD, Op, Status
from vtpu.model import Model

__all__ = ["MEMBERS", "expected_frames", "run_stream"]

MEMBERS = ("op", "tag", "status", "more", "coord", "hi", "mask", "value", "aux")


def expected_frames(model, ins):
    """The model's answer frames; fields go through the wire encoding first
    (deltas wrap to W bits exactly as they do on the way to the RTL)."""
    if ins.raw is not None:
        return model.command(Command(ins.op, ins.tag, b""))
    # as the model's frame path: a payload its fields do not fit (CKG's hops
    # field against its deltas) is BAD_ARG
    payload = encode_fields(PAYLOAD[ins.op], ins.fields)
    return model.command(Command(ins.op, ins.tag, payload))


def run_stream(instructions, *, sets=16, ways=2, ready_every=1, dut=None, model=None,
               answer_domain="sync", answer_period=None, patience=2000):
    """Drive ``dut`` (a Sequencer, or anything with its ports) and compare every
    answer with ``model``'s; both default to a sequencer of ``sets x ways``.
    ``answer_domain``: the clock ``dut.o`` is on (``answer_period`` seconds;
    ``sync`` is 1 us); ``patience``: the clocks an instruction may wait to go in.
    Returns ``cycles``, ``seconds`` and ``statuses``: the model's final status
    for each instruction (what the stream reached)."""
    model = model or Model(sets=sets, ways=ways, ops=SENTRON_OPS)
    want = [expected_frames(model, ins) for ins in instructions]
    dut = dut or Sequencer(sets=sets, ways=ways)
    got = []
    stats = {"statuses": [parse_responses(frames)[-1].status for frames in want]}

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
            if not await until_ready(ctx, dut.i.ready, patience):
                return                  # the sink reports the stopped answers
        ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        cycle, idle, finals = 0, 0, 0
        while finals < len(instructions) and idle < max(1000, patience):   # a hang fails
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
