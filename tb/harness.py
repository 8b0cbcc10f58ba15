"""What every cocotb test of the top level does first."""

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

__all__ = ["start"]


async def start(dut, *, o_ready=0):
    """Start the 100 MHz clock, idle the input stream, hold reset for three clocks."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.i__valid.value = 0
    dut.o__ready.value = o_ready
    dut.rst.value = 1
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
