"""cocotb testbench: the exported vTPU against the golden model, through its
top-level byte streams only.

Configured by environment (tb/run.py sets it): VTPU_SEED, VTPU_INSTRUCTIONS,
VTPU_SENTRONS, VTPU_SETS, VTPU_WAYS (or VTPU_ENTRIES, VTPU_BUCKETS and
VTPU_MAX_MOVES: the cuckoo memory), VTPU_RESULT (where to write the tallies),
and for one of several parallel jobs VTPU_FIRST_PART (the random stream is
drawn in parts of ``CHUNK`` instructions, each from its own seed; a job starts
at this part), VTPU_DIRECTED (0: leave the directed program to another job)
and VTPU_JOBS (with more than one, tb/run.py judges the coverage of them all).
"""

import os
import time
from pathlib import Path

import cocotb
from cocotb.triggers import Timer

from tb import batch
from tb.run import CHUNK, PROGRESS_RECORD
from tb.scoreboard import Scoreboard
from tb.stimulus import Instruction, Stimulus
from vtpu.coord import Pattern
from vtpu.frame import encode_command
from vtpu.isa import DIMS, Op

SEED = int(os.environ.get("VTPU_SEED", "1"))
COUNT = int(os.environ.get("VTPU_INSTRUCTIONS", "1000000"))
SENTRONS = int(os.environ.get("VTPU_SENTRONS", "1"))
SETS = int(os.environ.get("VTPU_SETS", "16"))
WAYS = int(os.environ.get("VTPU_WAYS", "2"))
ENTRIES = batch.ENTRIES     # the cuckoo memory's entries (0: the set-associative table)
RESULT = os.environ.get("VTPU_RESULT", "build/sim/result.json")
FIRST_PART = int(os.environ.get("VTPU_FIRST_PART", "0"))
DIRECTED = os.environ.get("VTPU_DIRECTED", "1") == "1"
# the batch files the harness reads and writes (its plusargs name them)
STIMULUS = Path(os.environ.get("VTPU_STIMULUS", "stimulus.hex"))
RESPONSES = Path(os.environ.get("VTPU_RESPONSES", "responses.hex"))
JOBS = int(os.environ.get("VTPU_JOBS", "1"))


# clocks without an answer byte before a batch ends: a core that stopped. A
# scanned store (tb/run.py's scan phase) is silent longer: a CDIGEST reads the
# store once a hit and hashes each hit for some 210 clocks before it answers.
IDLE_LIMIT = int(os.environ.get("VTPU_IDLE_LIMIT", "5000"))
SIM_SECONDS = [0.0]   # wall time the simulator ran batches on its own


STIMULUS_DEPTH = 262144   # the harness's stimulus memory (tb/batch_harness.v DEPTH)


async def stream(dut, scoreboard, instructions, first_index, ready_every=1):
    """A batch of any size: as many harness batches as its bytes need."""
    clocks, start = 0, 0
    while start < len(instructions):
        size, end = 0, start
        while end < len(instructions) and size + len(instructions[end].frame()) <= STIMULUS_DEPTH:
            size += len(instructions[end].frame())
            end += 1
        clocks += await stream_batch(dut, scoreboard, instructions[start:end], first_index + start,
                                     ready_every)
        start = end
    return clocks


async def stream_batch(dut, scoreboard, instructions, first_index, ready_every=1):
    """Run a batch through the harness (tb/batch_harness.v): the command bytes
    go in from a file, the answer bytes come back in one; the scoreboard
    matches them. Returns the clocks the batch took.

    The simulator runs the whole batch on its own: no Python per clock."""
    data, expected = bytearray(), 0
    for n, instruction in enumerate(instructions):
        expected += scoreboard.expect(first_index + n, instruction)
        data += instruction.frame()
    lines, clocks, seconds = await batch.run(dut, STIMULUS, RESPONSES, [f"{b:02x}" for b in data],
                                             expected, ready_every, IDLE_LIMIT)
    SIM_SECONDS[0] += seconds
    try:
        answer = bytes(int(line, 16) for line in lines)
    except ValueError:
        bad = next(n for n, line in enumerate(lines) if not all(c in "0123456789abcdef" for c in line))
        raise AssertionError(f"o.payload was {lines[bad]!r} while o.valid was high (answer byte "
                             f"{bad} of the batch starting at instruction {first_index})") from None
    scoreboard.receive(answer)
    return clocks


def directed_program(model):
    """Every implemented instruction and every status it can answer, plus frame errors."""
    a, b = (1,) * DIMS, (1,) * 8 + (2,)
    prog = [
        (Op.CGET, {"coord": a}), (Op.CPUT, {"coord": a, "value": 42}), (Op.CGET, {"coord": a}),
        (Op.CPUT, {"coord": a, "value": 43}), (Op.CDEL, {"coord": b}), (Op.CDEL, {"coord": a}),
        (Op.CDELTA, {"coord": a, "delta": (1,) * DIMS}), (Op.CDELTA, {"coord": a, "delta": (-2,) + (0,) * 8}),
        (Op.CROUTE, {"coord": a, "n": 5, "mode": 0}), (Op.CROUTE, {"coord": a, "n": 0, "mode": 0}),
        (Op.CRTSET, {"index": 0, "bound": b, "node": 7}), (Op.CRTSET, {"index": 16, "bound": b, "node": 7}),
        (Op.CROUTE, {"coord": a, "n": 1, "mode": 1}), (Op.CROUTE, {"coord": (9,) * 9, "n": 1, "mode": 1}),
        (Op.CROUTE, {"coord": a, "n": 17, "mode": 1}), (Op.CROUTE, {"coord": a, "n": 3, "mode": 2}),
        (Op.CMOE, {"coord": a, "n": 8}), (Op.CMOE, {"coord": a, "n": 0}),
        (Op.CRANGE, {"pattern": Pattern(a, (9,) * 9)}),
        (Op.CDIGEST, {"pattern": Pattern(a, (9,) * 9)}),
        (Op.CHIER, {"pattern": Pattern(a, a), "dir": 0}),
        # UP with wildcards whose wire bounds are junk, a range, the deepest
        # non-wildcard in the middle; all wildcards, an empty box, high mask
        # bits and an unknown direction (BAD_ARG); DOWN (a CRANGE).
        (Op.CHIER, {"pattern": Pattern(a[:7] + (9, 9), (2,) * 7 + (3, 3), 0b110000000), "dir": 0}),
        (Op.CHIER, {"pattern": Pattern(a, (7,) * 9, 0b100010000), "dir": 0}),
        (Op.CHIER, {"pattern": Pattern(a, a, 0b111111111), "dir": 0}),
        (Op.CHIER, {"pattern": Pattern((2,) * 9, a, 0), "dir": 0}),
        (Op.CHIER, {"pattern": Pattern(a, a, 1 << 12), "dir": 0}),
        (Op.CHIER, {"pattern": Pattern(a, a), "dir": 2}),
        (Op.CHIER, {"pattern": Pattern(a, a), "dir": 1}),
        (Op.CNEAREST, {"coord": a, "k": 2}),
        (Op.CATTEND, {"coord": a, "pattern": Pattern(a, (9,) * 9), "k": 2, "mode": 1}),
        (Op.CKG, {"coord": a, "entity": 1, "hops": 1, "deltas": [(0,) * 9]}),
    ]
    if not ENTRIES:
        # Fill one set to answer TABLE_FULL: keys that hash to set 0 of sentron 0.
        keys = [k for k in ((i, 1, 1, 1, 1, 1, 1, 1, 1) for i in range(1, 2000))
                if model.locate(k) == (0, 0)][: WAYS + 1]
        prog += [(Op.CPUT, {"coord": k, "value": i}) for i, k in enumerate(keys)]
        prog += [(Op.CDEL, {"coord": k}) for k in keys]
    # Leave the range through each component, both ways.
    for d in range(DIMS):
        unit = tuple(int(i == d) for i in range(DIMS))
        prog += [(Op.CDELTA, {"coord": a, "delta": tuple(-2 * u for u in unit)}),
                 (Op.CDELTA, {"coord": a, "delta": tuple(32767 * u for u in unit)}),
                 (Op.CDELTA, {"coord": (65535,) * DIMS, "delta": unit})]
    # Fill the whole table, answer from it full, then empty it again.
    if ENTRIES:
        # the cuckoo memory: new keys until the first TABLE_FULL (a copy of the model says when)
        trial, everything = new_model(), []
        for k in ((i, 2, 2, 2, 2, 2, 2, 2, 2) for i in range(1, 60000)):
            everything.append(k)
            if not trial.cput(k, 0).ok:
                break
    else:
        by_set = {}
        for k in ((i, 2, 2, 2, 2, 2, 2, 2, 2) for i in range(1, 60000)):
            slot = by_set.setdefault(model.locate(k), [])
            if len(slot) < WAYS:
                slot.append(k)
            if len(by_set) == SENTRONS * SETS and all(len(v) == WAYS for v in by_set.values()):
                break
        everything = [k for keys_ in by_set.values() for k in keys_]
    prog += [(Op.CPUT, {"coord": k, "value": i}) for i, k in enumerate(everything)]
    prog += [(Op.CGET, {"coord": everything[0]}), (Op.CPUT, {"coord": (3,) * DIMS, "value": 1})]
    prog += [(Op.CDEL, {"coord": k}) for k in everything]
    # Ranges over a small cluster (spread over the sentrons by hash, merged back in
    # Z-order): CRANGE, CDIGEST, CHIER DOWN, wildcards, and bad boxes.
    cluster = [(5,) * 6 + (x, y, z) for x in (4, 5) for y in (4, 5, 6) for z in (5, 6)]
    lo, hi = (5,) * 6 + (4, 4, 5), (5,) * 6 + (5, 6, 6)
    prog += [(Op.CPUT, {"coord": k, "value": 1000 + i}) for i, k in enumerate(cluster)]
    for pattern in (Pattern(lo, hi), Pattern(lo, (5,) * 6 + (4, 6, 6)),
                    Pattern(lo, hi, 0b111000000), Pattern(hi, lo),      # wildcards; lo > hi
                    Pattern(lo, hi, 1 << 11), Pattern((9,) * 9, (9,) * 9)):   # mask bit 11; empty
        prog += [(Op.CRANGE, {"pattern": pattern}), (Op.CDIGEST, {"pattern": pattern}),
                 (Op.CHIER, {"pattern": pattern, "dir": 1})]
    prog += [(Op.CDEL, {"coord": k}) for k in cluster]
    out = [Instruction(op, fields, tag % 256) for tag, (op, fields) in enumerate(prog)]
    out.append(Instruction(0x7F, {}, 200, raw=encode_command(0x7F, 200, b"")))   # unknown opcode
    out.append(Instruction(Op.CGET, {"coord": a}, 201, garbage=bytes.fromhex("a50101ff")))
    return out


def new_model():
    """The golden model configured as the core under test."""
    return batch.model_under_test(SENTRONS, SETS, WAYS)


async def log_progress(dut, scoreboard, at, every=5.0):
    """A progress record every ``every`` seconds of wall time, for the parts that
    take longer (Icarus): ``at`` holds the random instructions done before the
    part being streamed and the index it starts at (None between parts)."""
    last = time.time()
    while True:
        await Timer(5000, unit="ns")              # 500 clocks
        if time.time() - last >= every:
            last = time.time()
            done = at["done"] + (0 if at["start"] is None else max(0, scoreboard.checked - at["start"]))
            dut._log.info(PROGRESS_RECORD.format(done=done, count=COUNT,
                                                 mismatches=len(scoreboard.mismatches)))


@cocotb.test()
async def cross_check(dut):
    """Directed program, then seeded constrained-random streams, all against the model."""
    await batch.start(dut)
    model = new_model()
    scoreboard = Scoreboard(model, SEED)
    began = time.time()
    clocks = await stream(dut, scoreboard, directed_program(model), 0) if DIRECTED else 0
    directed = scoreboard.checked
    done, part, index, stim = 0, FIRST_PART, directed, None
    at = {"done": 0, "start": None}
    cocotb.start_soon(log_progress(dut, scoreboard, at))
    while done < COUNT:
        n = min(CHUNK, COUNT - done)
        if stim is not None and part % 4:
            # At most chunk boundaries the last cluster leaves the table (at every
            # other one, everything does), so clusters meet an emptier table as
            # well as a full one and gets hit as well as miss.
            leaving = sorted(model.data) if part % 2 else [k for k in stim.keys if k in model.data]
            drain = [Instruction(Op.CDEL, {"coord": k}, i % 256) for i, k in enumerate(leaving)]
            clocks += await stream(dut, scoreboard, drain, index)
            index += len(drain)
        # Each chunk draws from a new cluster of keys; the table carries over.
        # Odd chunks delete as often as they put: the table churns below full.
        stim = Stimulus(SEED * 1000 + part, ops=frozenset(Op), keys=24 + 8 * (part % 4),
                        mix={Op.CDEL: 6} if part % 2 else None)
        at.update(start=index)
        clocks += await stream(dut, scoreboard, stim.take(n), index,
                               ready_every=1 if part % 3 else 2)
        index += n
        done += n
        at.update(done=done, start=None)
        part += 1
        # tb/run.py reads these for its progress lines
        dut._log.info(PROGRESS_RECORD.format(done=done, count=COUNT, mismatches=len(scoreboard.mismatches)))
    seconds = time.time() - began
    hit, total = scoreboard.coverage.summary()
    scoreboard.coverage.write(os.path.join(os.path.dirname(RESULT), "coverage.json"))
    batch.write_result(RESULT, instructions=scoreboard.checked, random=done, directed=directed, first_part=FIRST_PART,
                 mismatches=len(scoreboard.mismatches), unmatched=scoreboard.outstanding(),
                 coverage_hit=hit, coverage_total=total, missing=scoreboard.coverage.missing(),
                 unexpected=scoreboard.coverage.unexpected(), clocks=clocks, seconds=seconds, sim_seconds=SIM_SECONDS[0],
                 report=scoreboard.coverage.report())
    assert not scoreboard.mismatches, f"{len(scoreboard.mismatches)} mismatches (first ones printed above)"
    assert scoreboard.outstanding() == 0, "the DUT stopped answering"
    if JOBS == 1:
        assert not scoreboard.coverage.missing(), f"coverage holes: {scoreboard.coverage.missing()}"
