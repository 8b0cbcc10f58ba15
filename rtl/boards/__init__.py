"""Board tops: a byte core (the vTPU) behind a UART host link, with status LEDs.

``UARTLink`` (``rtl.link.uart_link``) is board-independent (RX pin -> UARTRx -> FIFO -> core -> FIFO
-> UARTTx -> TX pin) and is what the end-to-end UART simulation drives.
``BoardTop`` (``rtl.boards.top``) adds the PLL that makes the core clock, the reset held until it
locks, the pins and the LEDs of one board from ``BOARDS`` (``rtl.boards.settings``):

===================  ==========  ==========  ==========  ===========================
board                FPGA        core clock  host link   memory
===================  ==========  ==========  ==========  ===========================
icebreaker           iCE40 UP5K  27 MHz      core clock  4,096 cuckoo entries (SPRAM)
hx8k                 iCE40 HX8K  60 MHz      core clock  256 cuckoo entries
ulx3s-85f            ECP5 85F    60 MHz      27.27 MHz   4 x 2,048 cuckoo entries
ulx3s-85f-pipelined  ECP5 85F    100 MHz     33.33 MHz   4 x 2048 x 1 set-associative
===================  ==========  ==========  ==========  ===========================

The core clock (``sync``) runs the sentron array. On the iCE40s it runs
everything; on the ECP5 what works a byte at a time -- the UART, its FIFOs,
the frame decoder, the response encoder (pipelined, the array's answer
collector too) -- and the units in front of the sentrons have a clock of
their own (``host``, the PLL's CLKOS; ``rtl.top.VTPU``, ``host_domain``): at
125 MHz those blocks were the slowest paths, and a 3 Mbaud line has no use
for that clock. Each domain's reset reaches its flops through a global
buffer there (``BoardTop._reset``). Why each board's memory, instructions
and clocks are what they are: the comments in ``rtl.boards.settings``, and
docs/ecp5-timing.md for the ULX3S. The ULX3S FTDI (FT231X) does 3 Mbaud too.

LEDs: heartbeat (~1 Hz), receive activity, transmit activity, UART error
seen (framing error or receive overrun; sticky until reset).

The core comes from a factory ``core_factory(board) -> Component`` with byte
stream ports ``i`` (commands in) and ``o`` (responses out); ``vtpu_core`` is
the default. Extra pins beyond amaranth-boards live in ``constraints/<board>.py``
(a ``RESOURCES`` list).
"""

from ..link.uart_link import UARTLink
from .settings import (BOARDS, CONSTRAINTS, Board, ecp5_pll_hz, ice40_filter_range, ice40_pll_hz,
                       pll_settings)
from .top import BoardTop, vtpu_core

__all__ = ["UARTLink", "BoardTop", "Board", "BOARDS", "vtpu_core", "ice40_pll_hz",
           "ice40_filter_range", "ecp5_pll_hz", "pll_settings", "CONSTRAINTS"]
