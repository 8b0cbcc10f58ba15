"""Board tops: a byte core (the vTPU) behind a UART host link, with status LEDs.

``UARTLink`` (``rtl.link.uart_link``) is board-independent (RX pin -> UARTRx -> FIFO -> core -> FIFO
-> UARTTx -> TX pin) and is what the end-to-end UART simulation drives.
``BoardTop`` (``rtl.boards.top``) adds the PLL that makes the core clock, the reset held until it
locks, the pins and the LEDs of one board from ``BOARDS`` (``rtl.boards.settings``):

==========  =============  ==========  ==========  =========  =============================
board       FPGA           core clock  host link   baud       table (sentrons x sets x ways)
==========  =============  ==========  ==========  =========  =============================
icebreaker  iCE40 UP5K     30 MHz      core clock  3 Mbaud    1 x 256 x 1
hx8k        iCE40 HX8K     60 MHz      core clock  3 Mbaud    1 x 256 x 1
ulx3s-85f   ECP5 85F       125 MHz     39.06 MHz   3 Mbaud    4 x 2048 x 1 (8192 entries)
==========  =============  ==========  ==========  =========  =============================

The core clock (``sync``) runs the sentron array. On the iCE40s it runs
everything; on the ECP5 what works a byte at a time -- the UART, its FIFOs,
the frame decoder, the array's answer collector and the response encoder --
has a clock of its own (``host``, the PLL's CLKOS; ``rtl.top.VTPU``,
``host_domain``): at 125 MHz those blocks were the slowest paths, and a
3 Mbaud line has no use for that clock. Each domain's reset reaches its flops
through a global buffer there (``BoardTop._reset``).

Why these tables: an entry is valid + 144-bit key + 64-bit value = 209 bits,
14 iCE40 BRAMs (256 x 16) wide per way; the 16-entry route table takes 10
more and each FIFO one, so one way of 256 sets is what fits in the 30 (UP5K)
or 32 (HX8K) BRAMs. On the ECP5 a one-way row of 2048 sets is 24 DP16KDs
(9 bits x 2048) wide, so four sentrons take 96 of its 208. Four sentrons of
512 x 4 ways use the same BRAMs but read four times the wires (24 x 36 bits
each): nextpnr's router1 was still resolving ~33k overused wires after 7
minutes of routing and router2 diverged, while 4 x 2048 x 1 routes in
minutes. The ULX3S FTDI (FT231X) also does 3 Mbaud; the host clock, 625 MHz /
16 = 39.06 MHz, makes a bit 13 clocks (0.16% fast, well inside the 8N1
margin).

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
