"""Driving the cross-checks' harness (tb/batch_harness.v): a batch goes in from a
file and its answers come back in one, the simulator running the whole batch
on its own."""

import json
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

__all__ = ["start", "run", "write_result", "ENTRIES", "model_under_test", "ops_under_test"]

# the cuckoo memory's geometry, when tb/run.py checks a core on it
ENTRIES = int(os.environ.get("VTPU_ENTRIES", "0"))      # 0: the set-associative table
BUCKETS = int(os.environ.get("VTPU_BUCKETS", "0"))      # 0: the model's default
MAX_MOVES = int(os.environ.get("VTPU_MAX_MOVES", "2"))  # the cuckoo search's bound
# the instructions the core carries, by name ("": every one the gateware implements)
OPS = os.environ.get("VTPU_OPS", "")


def ops_under_test():
    """The instructions the core under test carries (the rest answer BAD_OPCODE)."""
    from rtl.sentron.execute import IMPLEMENTED_OPS
    from vtpu.isa import Op
    return frozenset(Op[name] for name in OPS.split(",")) if OPS else IMPLEMENTED_OPS


def model_under_test(sentrons, sets, ways):
    """The golden model configured as the core under test: ``sentrons`` on the
    cuckoo memory of ``ENTRIES`` entries, or on tables of ``sets`` x ``ways``."""
    from rtl.topk_unit import K_MAX
    from vtpu.model import Model
    if ENTRIES:
        return Model(ENTRIES, sentrons=sentrons, buckets=BUCKETS or None, max_moves=MAX_MOVES,
                     ops=ops_under_test(), k_max=K_MAX)
    return Model(sentrons=sentrons, sets=sets, ways=ways, ops=ops_under_test(), k_max=K_MAX)


async def start(dut):
    """Start the 100 MHz clock and hold reset for three clocks; the harness idles."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.load.value = 0
    dut.rst.value = 1
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0


async def run(dut, stimulus, responses, lines, expect, ready_every, idle_limit):
    """Write ``lines`` (hex, one stimulus word each) to ``stimulus``, run the
    batch until ``expect`` answers are out (or ``idle_limit`` clocks pass with
    none), and return (the answer lines, the batch's clocks, its wall seconds)."""
    stimulus.write_text("".join(line + "\n" for line in lines))
    dut.length.value = len(lines)
    dut.ready_every.value = ready_every
    dut.idle_limit.value = idle_limit
    dut.expected.value = expect
    await FallingEdge(dut.clk)
    dut.load.value = 1
    await FallingEdge(dut.clk)
    dut.load.value = 0
    began = time.perf_counter()
    await FallingEdge(dut.busy)
    return responses.read_text().split(), int(dut.clocks.value), time.perf_counter() - began


def write_result(path, **tallies):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(tallies, f)
