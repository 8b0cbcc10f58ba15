"""cocotb testbench: the sentron array at one decoded instruction a clock, against
the golden model (tb/batch_harness.v drives it from a stimulus memory).

Through the byte link an instruction reaches the array every twenty clocks or
more, so the pipeline never holds two at once; here they follow each other a
clock apart, and the same key or set comes back 1-4 instructions behind a
write: the hazards the sentrons' forwarding of missed writes exists for. The
coverage has a bin for each (``hazard/same_key/D``, ``hazard/same_set/D``).

Configured by environment (tb/run.py sets it): VTPU_SEED, VTPU_INSTRUCTIONS,
VTPU_SENTRONS, VTPU_SETS, VTPU_WAYS (or VTPU_ENTRIES, VTPU_BUCKETS and
VTPU_MAX_MOVES: the cuckoo memory), VTPU_RESULT, VTPU_STIMULUS, VTPU_RESPONSES.
"""

import os
import time
from pathlib import Path

import cocotb

from rtl.layouts import command_layout, response_layout
from tb import batch as harness
from tb.run import ARRAY_DEPTH as DEPTH
from tb.beats import beat_bytes, command_members, pack_members, unpack_members
from tb.coverage import Coverage
from tb.scoreboard import Scoreboard
from tb.stimulus import Instruction, Stimulus
from vtpu.isa import Op, Status

SEED = int(os.environ.get("VTPU_SEED", "1"))
COUNT = int(os.environ.get("VTPU_INSTRUCTIONS", "100000"))
SENTRONS = int(os.environ.get("VTPU_SENTRONS", "2"))
SETS = int(os.environ.get("VTPU_SETS", "8"))
WAYS = int(os.environ.get("VTPU_WAYS", "2"))
STIMULUS = Path(os.environ.get("VTPU_STIMULUS", "stimulus.hex"))
RESPONSES = Path(os.environ.get("VTPU_RESPONSES", "responses.hex"))
BATCH = 1000          # random instructions a batch (with the deletes before them)
IDLE_LIMIT = 5000
POINT = (Op.CGET, Op.CPUT, Op.CDEL)
COMMAND, RESPONSE = command_layout(), response_layout()


def command_word(instruction):
    """The decoded instruction the frame decoder would hand the array."""
    if instruction.raw is not None:       # the decoder flags an unknown opcode
        members = {"op": Op.CGET, "tag": instruction.tag, "error": Status.BAD_OPCODE}
    else:
        members = command_members(instruction.op, instruction.tag, instruction.fields)
    return pack_members(COMMAND, members)


def sample_hazards(coverage, model, batch, statuses):
    """Credit ``hazard/same_key/D`` and ``hazard/same_set/D``: a point instruction
    whose key (or another key of its sentron and set) was written by the
    instruction D places ahead of it in the same batch (a CPUT or CDEL that
    answered OK, so its write was in flight). On the cuckoo memory the "set"
    is the key's first bucket."""
    for n, ins in enumerate(batch):
        if ins.raw is not None or ins.op not in POINT:
            continue
        key = ins.fields["coord"]
        where = model.locate(key)[:2]
        for d in range(1, 5):
            if n - d < 0:
                break
            ahead = batch[n - d]
            if (ahead.raw is None and ahead.op in (Op.CPUT, Op.CDEL)
                    and statuses[n - d] == Status.OK
                    and model.locate(ahead.fields["coord"])[:2] == where):
                coverage.sample_hazard("same_key" if ahead.fields["coord"] == key else "same_set", d)


async def run_batch(dut, scoreboard, batch, first_index, ready_every):
    assert len(batch) <= DEPTH, f"a batch of {len(batch)} instructions: the harness holds {DEPTH}"
    words, expected, statuses = [], 0, []
    for n, instruction in enumerate(batch):
        scoreboard.expect(first_index + n, instruction)
        answers = scoreboard.expected[-1][2]
        expected += len(answers)
        statuses.append(answers[-1].status)
        words.append(command_word(instruction))
    sample_hazards(scoreboard.coverage, scoreboard.model, batch, statuses)
    lines, clocks, _ = await harness.run(dut, STIMULUS, RESPONSES, [f"{w:x}" for w in words],
                                       expected, ready_every, IDLE_LIMIT)
    answer = bytearray()
    for line in lines:
        try:
            answer += beat_bytes(unpack_members(RESPONSE, int(line, 16)))
        except ValueError:
            raise AssertionError(f"o.payload was {line!r} while o.valid was high (batch at "
                                 f"instruction {first_index})") from None
    scoreboard.receive(bytes(answer))
    return clocks


@cocotb.test()
async def array_cross_check(dut):
    """Constrained-random instructions a clock apart, every answer against the model."""
    await harness.start(dut)
    model = harness.model_under_test(SENTRONS, SETS, WAYS)
    scoreboard = Scoreboard(model, SEED)
    # (the table's occupancy and the decoder's errors are the byte-level check's)
    scoreboard.coverage = Coverage(model.ops, frame_errors=False, hazards=True,
                                   sentrons=SENTRONS, occupancy=False, k_max=model.k_max,
                                   memory=bool(harness.ENTRIES))
    began, clocks, done, part, index = time.time(), 0, 0, 0, 0
    while done < COUNT:
        n = min(BATCH, COUNT - done)
        # Few keys, so that sets and keys come back within four instructions;
        # now and then a slow consumer, so that the pipeline also backs up.
        stim = Stimulus(SEED * 7919 + part, ops=frozenset(Op), keys=(8, 16, 48)[part % 3],
                        garbage=0, unknown=0, mix={Op.CDEL: 4} if part % 2 else None)
        # Each batch starts from an empty table (its deletes are instructions a
        # clock apart too), so a new cluster of keys fits and writes land.
        drain = [Instruction(Op.CDEL, {"coord": k}, i % 256) for i, k in enumerate(sorted(model.data))]
        clocks += await run_batch(dut, scoreboard, drain + stim.take(n), index,
                                  1 if part % 4 else 3)
        index += len(drain) + n
        done += n
        part += 1
        dut._log.info(f"progress: {done} / {COUNT} random instructions, "
                      f"{len(scoreboard.mismatches)} mismatches")
    hit, total = scoreboard.coverage.summary()
    result = Path(os.environ.get("VTPU_RESULT", "result.json"))
    scoreboard.coverage.write(result.parent / "coverage.json")
    harness.write_result(result, instructions=scoreboard.checked, random=done, directed=0,
                 mismatches=len(scoreboard.mismatches), unmatched=scoreboard.outstanding(),
                 coverage_hit=hit, coverage_total=total, missing=scoreboard.coverage.missing(),
                 unexpected=scoreboard.coverage.unexpected(), clocks=clocks,
                 seconds=time.time() - began, report=scoreboard.coverage.report())
    assert not scoreboard.mismatches, f"{len(scoreboard.mismatches)} mismatches (first ones printed above)"
    assert scoreboard.outstanding() == 0, "the DUT stopped answering"
