"""Board tops: a byte core (the vTPU) behind a UART host link, with status LEDs.

``UARTLink`` is board-independent (RX pin -> UARTRx -> FIFO -> core -> FIFO
-> UARTTx -> TX pin) and is what the end-to-end UART simulation drives.
``BoardTop`` adds the PLL that makes the core clock, the reset held until it
locks, the pins and the LEDs of one board from ``BOARDS``:

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

import importlib
import runpy
from dataclasses import dataclass, replace
from pathlib import Path

from amaranth.hdl import (ClockDomain, DomainRenamer, Elaboratable, Instance, Module, ResetSignal,
                          Signal)
from amaranth.lib import io, wiring
from amaranth.lib.cdc import AsyncFFSynchronizer, ResetSynchronizer
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from vtpu.isa import Op

from .skid_buffer import SkidBuffer
from .stream_register import StreamRegister
from .uart import UARTRx, UARTTx, uart_divisor

__all__ = ["UARTLink", "BoardTop", "Board", "BOARDS", "vtpu_core", "ice40_pll_hz",
           "ecp5_pll_hz", "pll_settings", "CONSTRAINTS"]

CONSTRAINTS = Path(__file__).resolve().parent.parent / "constraints"


class UARTLink(wiring.Component):
    """Serial pins in and out of a byte-stream core.

    The receiver cannot stall the line, so a FIFO in front of the core
    absorbs the bytes that arrive while the core waits on the (slower)
    transmit side; another behind it lets the core finish a burst of answers
    at its own pace. ``fifo_depth=0`` connects straight through.

    ``domain`` clocks the UART and the FIFOs (the core's byte ports must be in
    it too: ``VTPU(host_domain=...)``); the core keeps its own domains.
    """

    def __init__(self, core, divisor, *, fifo_depth=512, domain="sync"):
        self.core, self.divisor, self.fifo_depth = core, divisor, fifo_depth
        self.domain = domain
        super().__init__({
            "rx": In(1, init=1),
            "tx": Out(1, init=1),
            "rx_byte": Out(1),      # a byte came in (one clock)
            "tx_byte": Out(1),      # a byte went out (one clock)
            "error": Out(1),        # framing errors or overruns seen so far
            "framing_errors": Out(8),
            "overruns": Out(8),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        host = DomainRenamer(self.domain) if self.domain != "sync" else (lambda block: block)
        m.submodules.uart_rx = uart_rx = host(UARTRx(self.divisor))
        m.submodules.uart_tx = uart_tx = host(UARTTx(self.divisor))
        m.d.comb += [uart_rx.rx.eq(self.rx), self.tx.eq(uart_tx.tx)]

        if self.fifo_depth:
            m.submodules.rx_fifo = rx_fifo = host(SyncFIFOBuffered(width=8, depth=self.fifo_depth))
            m.submodules.tx_fifo = tx_fifo = host(SyncFIFOBuffered(width=8, depth=self.fifo_depth))
            # The FIFO's data comes straight from block RAM (5.8 ns clock-to-out
            # on the ECP5): a register with no multiplexer in front takes it, and
            # the frame decoder reads that (its ready is a flop).
            m.submodules.rx_register = rx_register = host(StreamRegister(8))
            wiring.connect(m, uart_rx.o, rx_fifo.w_stream)
            wiring.connect(m, rx_fifo.r_stream, rx_register.i)
            wiring.connect(m, rx_register.o, core.i)
            # and one before the TX FIFO keeps its full flag out of the encoder;
            # the TX FIFO's block RAM feeds a StreamRegister too
            m.submodules.tx_slice = tx_slice = host(SkidBuffer(8))
            m.submodules.tx_register = tx_register = host(StreamRegister(8))
            wiring.connect(m, core.o, tx_slice.i)
            wiring.connect(m, tx_slice.o, tx_fifo.w_stream)
            wiring.connect(m, tx_fifo.r_stream, tx_register.i)
            wiring.connect(m, tx_register.o, uart_tx.i)
        else:
            wiring.connect(m, uart_rx.o, core.i)
            wiring.connect(m, core.o, uart_tx.i)

        m.d.comb += [
            self.rx_byte.eq(uart_rx.o.valid & uart_rx.o.ready),
            self.tx_byte.eq(uart_tx.i.valid & uart_tx.i.ready),
            self.framing_errors.eq(uart_rx.framing_errors),
            self.overruns.eq(uart_rx.overruns),
            self.error.eq((uart_rx.framing_errors != 0) | (uart_rx.overruns != 0)),
        ]
        return m


def ice40_pll_hz(osc_hz, divr, divf, divq):
    """Output and VCO frequency of an iCE40 PLL in SIMPLE feedback; checks the ranges."""
    pfd = osc_hz / (divr + 1)
    vco = pfd * (divf + 1)
    assert 10e6 <= pfd <= 133e6, f"PFD {pfd / 1e6} MHz out of range"
    assert 533e6 <= vco <= 1066e6, f"VCO {vco / 1e6} MHz out of range"
    assert 1 <= divq <= 6 and 0 <= divr <= 15 and 0 <= divf <= 127, "divider out of range"
    return vco / 2 ** divq, vco


def ice40_filter_range(osc_hz, divr):
    """The PLL loop filter setting for its PFD frequency (as icepll chooses it)."""
    pfd = osc_hz / (divr + 1) / 1e6
    return next((n for n, below in enumerate((17, 26, 44, 66, 101), 1) if pfd < below), 6)


def ecp5_pll_hz(osc_hz, clki_div, clkfb_div, clkop_div):
    """Output and VCO frequency of an ECP5 EHXPLLL fed back from CLKOP; checks the ranges."""
    pfd = osc_hz / clki_div
    out = pfd * clkfb_div
    vco = out * clkop_div
    assert 3.125e6 <= pfd <= 400e6, f"PFD {pfd / 1e6} MHz out of range"
    assert 400e6 <= vco <= 800e6, f"VCO {vco / 1e6} MHz out of range"
    assert 1 <= clki_div <= 128 and 1 <= clkfb_div <= 80 and 1 <= clkop_div <= 128, \
        "divider out of range"
    return out, vco


def pll_settings(family, osc_hz, want_hz):
    """Divider settings whose output is closest to ``want_hz`` (the lower one on a
    tie), searched over every legal setting as icepll and ecppll do; on the ECP5
    the output divider only places the VCO, nearest the middle of its range."""
    best = None
    if family == "ice40":
        candidates = (dict(divr=r, divf=f, divq=q)
                      for r in range(16) for f in range(128) for q in range(1, 7))
        rate = ice40_pll_hz
    else:
        candidates = (dict(clki_div=i, clkfb_div=f,
                           clkop_div=max(1, min(128, round(600e6 / (osc_hz / i * f)))))
                      for i in range(1, 129) for f in range(1, 81))
        rate = ecp5_pll_hz
    for setting in candidates:
        try:
            out = rate(osc_hz, **setting)[0]
        except AssertionError:
            continue
        if best is None or (abs(out - want_hz), out) < best[0]:
            best = ((abs(out - want_hz), out), setting)
    if best is None:
        raise ValueError(f"no {family} PLL setting from {osc_hz / 1e6} MHz")
    return best[1]


@dataclass(frozen=True)
class Board:
    name: str
    platform: str          # "module.Class" in amaranth_boards
    family: str            # "ice40" or "ecp5"
    osc_hz: float
    pll: dict              # divider settings, from icepll / ecppll
    baud: int
    sets: int              # per sentron
    ways: int
    leds: tuple            # LED numbers: heartbeat, rx, tx, error
    programmer: str        # what `make prog` runs
    fifo_depth: int = 512
    synth_opts: str = ""   # extra synth_<family> options
    # ECP5: the wire delay (ps) ABC assumes between two LUTs as it maps the logic
    # (``rtl.build.lut_mapping_script``); None: Yosys's own (300)
    wire_ps: int = None
    pnr_opts: tuple = ()   # extra nextpnr options
    pll_pad: bool = True   # iCE40: the oscillator pin is a PLL pad (SB_PLL40_PAD)
    leave_out: frozenset = frozenset()   # instructions this board's core answers BAD_OPCODE to
    sentrons: int = 1
    pipelined: bool = False   # VTPU ``pipelined``: PipelinedSequencer sentrons
    # ECP5: the host link (UART, FIFOs, response encoder) on a clock of its own
    # near this (the PLL's CLKOS: its VCO divided); None: one clock for all.
    host_mhz: float = None
    # pipelined: each sentron's table as this many memories, each with its own
    # address and write registers (``PipelinedSequencer``); the floorplan
    # places each in a row of block RAMs of its own
    table_groups: int = 1
    ops_unit: bool = False   # SentronArray's: the instructions that are not point ones apart

    @property
    def entries(self):
        return self.sentrons * self.sets * self.ways

    def at_clock(self, mhz):
        """This board with its PLL set for a core clock of (about) ``mhz``."""
        return replace(self, pll=pll_settings(self.family, self.osc_hz, mhz * 1e6))

    @property
    def ops(self):
        """The instructions the board's core executes."""
        from .sequencer import IMPLEMENTED_OPS
        return IMPLEMENTED_OPS - self.leave_out

    @property
    def clk_hz(self):
        if self.family == "ice40":
            return ice40_pll_hz(self.osc_hz, **self.pll)[0]
        return ecp5_pll_hz(self.osc_hz, **self.pll)[0]

    @property
    def host_domain(self):
        return "sync" if self.host_mhz is None else "host"

    @property
    def host_pll_div(self):
        """CLKOS_DIV: the VCO divided down to the clock nearest ``host_mhz`` that
        keeps the UART's bit time within its margin."""
        assert self.family == "ecp5", "a host clock of its own is an ECP5 PLL output"
        vco = ecp5_pll_hz(self.osc_hz, **self.pll)[1]
        for div in sorted(range(1, 129), key=lambda d: abs(vco / d - self.host_mhz * 1e6)):
            try:
                uart_divisor(vco / div, self.baud)
                return div
            except ValueError:
                continue
        raise ValueError(f"no host clock from a {vco / 1e6:g} MHz VCO suits {self.baud} baud")

    @property
    def host_hz(self):
        if self.host_mhz is None:
            return self.clk_hz
        return ecp5_pll_hz(self.osc_hz, **self.pll)[1] / self.host_pll_div

    @property
    def divisor(self):
        return uart_divisor(self.host_hz, self.baud)

    def platform_class(self):
        module, cls = self.platform.rsplit(".", 1)
        return getattr(importlib.import_module(f"amaranth_boards.{module}"), cls)

    def constraints(self):
        """``constraints/<board>.py``: RESOURCES to add, DRIVE_HIGH resource names,
        FLOORPLAN (netlist cell name -> nextpnr BEL it is locked to)."""
        path = CONSTRAINTS / f"{self.name}.py"
        found = runpy.run_path(str(path)) if path.exists() else {}
        return {"RESOURCES": found.get("RESOURCES", []), "DRIVE_HIGH": found.get("DRIVE_HIGH", []),
                "FLOORPLAN": found.get("FLOORPLAN", {})}

    def make_platform(self):
        platform = self.platform_class()()
        if extra := self.constraints()["RESOURCES"]:
            platform.add_resources(extra)
        return platform


BOARDS = {
    # 12 MHz * 80 / 2**5 = 30 MHz, VCO 960 MHz (icepll -i 12 -o 30); 10 clocks per bit.
    "icebreaker": Board(
        "icebreaker", "icebreaker.ICEBreakerPlatform", "ice40", 12e6,
        dict(divr=0, divf=79, divq=5), 3_000_000, sets=256, ways=1,
        # green on the main board, two LEDs of the break-off PMOD, red on the main board
        leds=(1, 2, 3, 0), programmer="iceprog",
        synth_opts="-dsp",     # the UP5K's SB_MAC16s take the multiply-high of CROUTE/CMOE
        # The full core is ~7600 logic cells of the UP5K's 5280: range-mode
        # routing (two 144-bit Z-order comparators, the route table) is ~1100,
        # CHIER UP (a 144-bit upper bound through the answer register and the
        # response encoder's byte mux) ~2200.
        # The Z-order index of the range instructions is ~16 more 4-kbit BRAMs
        # (a copy of every key, the tree, the update queue) on top of the 17 used.
        leave_out=frozenset({Op.CROUTE, Op.CRTSET, Op.CHIER, Op.CRANGE, Op.CDIGEST})),
    # 12 MHz * 80 / 2**4 = 60 MHz, VCO 960 MHz (icepll -i 12 -o 60); 20 clocks per bit.
    "hx8k": Board(
        "hx8k", "ice40_hx8k_b_evn.ICE40HX8KBEVNPlatform", "ice40", 12e6,
        dict(divr=0, divf=79, divq=4), 3_000_000, sets=256, ways=1,
        leds=(0, 1, 2, 3), programmer="iceprog", pll_pad=False,
        # CHIER: ~2200 more cells than the 7680; the range index: ~16 more BRAMs
        # than the 5 left of the 32.
        leave_out=frozenset({Op.CHIER, Op.CRANGE, Op.CDIGEST})),
    # 25 MHz * 5 = 125 MHz, VCO 625 MHz (ecppll -i 25 -o 125); the host link at
    # VCO / 16 = 39.06 MHz, 13 clocks per bit (3.005 Mbaud).
    "ulx3s-85f": Board(
        "ulx3s-85f", "ulx3s.ULX3S_85F_Platform", "ecp5", 25e6,
        dict(clki_div=1, clkfb_div=5, clkop_div=5), 3_000_000, sentrons=4, sets=2048, ways=1,
        leds=(0, 1, 2, 3), programmer="openFPGALoader",
        # The range index needs ~32 DP16KDs per 2048-slot sentron (a key copy of
        # 16, the tree, the queue): 4 x 32 + the 98 in use exceeds the 208.
        # pipelined: sentrons that never stall (``PipelinedSequencer``); the
        # stalling ones made 70 MHz at best. The table's read port carries no
        # read-old-data logic (``no_rw_check``, rtl/sequencer.py): with it the
        # four-sentron build stopped routing.
        leave_out=frozenset({Op.CRANGE, Op.CDIGEST}), pipelined=True,
        # router2 converges on this design in minutes once the floorplan
        # (constraints/ulx3s-85f.py) keeps each sentron together; router1 stalled
        # at 75k unrouted arcs on the same placement.
        pnr_opts=("--router", "router2"),
        # ABC maps the logic assuming a nanosecond between LUTs, not 300 ps: fewer
        # levels (103.92 MHz against 98.20 at the same RTL, seed 1).
        wire_ps=1000,
        # The byte-serial blocks (UART, FIFOs, decoder, answer collector,
        # encoder) at 39 MHz (CLKOS): a 3 Mbaud byte is 130 of its clocks. At
        # 62.5 the collector, merging four answer streams from across the
        # chip, missed it (60.75 MHz); at 48.08, with five (the ops unit),
        # 47.29 at seed 1.
        host_mhz=39,
        # one per EBR row of the sentron's block (constraints/ulx3s-85f.py): from
        # one register the read address crossed all 24 DP16KDs (8.78 ns, one net)
        table_groups=2,
        # Sentron 0 with every opcode had twice another's flops (5,542), its
        # pipeline spread over the block its table RAMs span: the slowest paths
        # were all in it.
        ops_unit=True),
}


def vtpu_core(board):
    """The default core: the vTPU sized for the board."""
    from .top import VTPU
    return VTPU(sentrons=board.sentrons, sets=board.sets, ways=board.ways, ops=board.ops,
                pipelined=board.pipelined, host_domain=board.host_domain,
                table_groups=board.table_groups, ops_unit=board.ops_unit)


def _flash(m, domain, pulse, tick, name):
    """Lit from a pulse until the second ``tick`` after it, so one byte shows on an LED.

    A shared tick instead of a counter per LED: a wide down-counter is a long
    carry chain, and was the slowest path of the whole board top.
    """
    lit = Signal(2, name=f"{name}_flash")
    with m.If(pulse):
        m.d[domain] += lit.eq(0b11)
    with m.Elif(tick):
        m.d[domain] += lit.eq(lit >> 1)
    return lit[0]


class BoardTop(Elaboratable):
    """Elaboratable top for ``platform.build``: clock, reset, UART pins, LEDs."""

    def __init__(self, board: Board, core_factory=vtpu_core):
        self.board = board
        self.core = core_factory(board)
        self.link = UARTLink(self.core, board.divisor, fifo_depth=board.fifo_depth,
                             domain=board.host_domain)

    def _clock(self, m, platform):
        """Core clock (and the host link's, if apart) from the board oscillator through
        the PLL; each domain held in reset until it locks."""
        b = self.board
        osc = platform.request(platform.default_clk, dir="-")
        m.domains.sync = cd_sync = ClockDomain("sync")
        clk = Signal()   # the PLL output: a top-level name for the clock constraint
        m.d.comb += cd_sync.clk.eq(clk)
        locked = Signal()
        host_outputs = {}
        if b.host_domain != "sync":
            m.domains.host = cd_host = ClockDomain("host")
            host_clk = Signal()
            m.d.comb += cd_host.clk.eq(host_clk)
            # The crossings (a handshake, FIFOs) are asynchronous: the phase does not matter.
            host_outputs = dict(p_CLKOS_ENABLE="ENABLED", p_CLKOS_DIV=b.host_pll_div,
                                p_CLKOS_CPHASE=b.host_pll_div // 2, p_CLKOS_FPHASE=0,
                                a_FREQUENCY_PIN_CLKOS=str(round(b.host_hz / 1e6, 4)),
                                i_ENCLKOS=0, o_CLKOS=host_clk)
        if b.family == "ice40":
            settings = dict(
                p_FEEDBACK_PATH="SIMPLE",
                p_DIVR=b.pll["divr"], p_DIVF=b.pll["divf"], p_DIVQ=b.pll["divq"],
                p_FILTER_RANGE=ice40_filter_range(b.osc_hz, b.pll["divr"]),
                i_RESETB=1, i_BYPASS=0, o_PLLOUTGLOBAL=clk, o_LOCK=locked)
            if b.pll_pad:
                # The iCEBreaker's oscillator pin is a PLL pad: the PLL takes it directly.
                m.submodules.pll = Instance("SB_PLL40_PAD", i_PACKAGEPIN=osc.io, **settings)
            else:
                # The HX8K-B-EVN's (J3) is not: buffer it and feed the PLL core.
                m.submodules.osc_buffer = osc_buffer = io.Buffer("i", osc)
                m.submodules.pll = Instance("SB_PLL40_CORE", i_REFERENCECLK=osc_buffer.i,
                                            **settings)
        else:
            m.submodules.pll = Instance(
                "EHXPLLL",
                a_FREQUENCY_PIN_CLKI=str(int(b.osc_hz / 1e6)),
                a_FREQUENCY_PIN_CLKOP=str(int(b.clk_hz / 1e6)),
                a_ICP_CURRENT="12", a_LPF_RESISTOR="8",
                a_MFG_ENABLE_FILTEROPAMP="1", a_MFG_GMCREF_SEL="2",
                p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB",
                p_OUTDIVIDER_MUXC="DIVC", p_OUTDIVIDER_MUXD="DIVD",
                p_CLKI_DIV=b.pll["clki_div"], p_CLKFB_DIV=b.pll["clkfb_div"],
                p_CLKOP_ENABLE="ENABLED", p_CLKOP_DIV=b.pll["clkop_div"],
                p_CLKOP_CPHASE=b.pll["clkop_div"] // 2, p_CLKOP_FPHASE=0,
                p_FEEDBK_PATH="CLKOP",
                i_CLKI=osc.io, i_CLKFB=clk, i_RST=0, i_STDBY=0,
                i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1,
                i_PLLWAKESYNC=0, i_ENCLKOP=0,
                o_CLKOP=clk, o_LOCK=locked, **host_outputs)
        # Released synchronously, a few clocks after lock.
        self._reset(m, b, "sync", ~locked)
        platform.add_clock_constraint(clk, b.clk_hz)
        if host_outputs:
            self._reset(m, b, "host", ~locked)
            platform.add_clock_constraint(host_clk, b.host_hz)

    @staticmethod
    def _reset(m, board, domain, arst):
        """``domain``'s reset: asserted with ``arst``, released on its clock. On the
        ECP5 it reaches its flops through a global buffer (DCCA): from a fabric
        flop the reset of the four-sentron build, ~1500 loads across the die,
        was the core clock's slowest net (10 ns)."""
        name = "reset_sync" if domain == "sync" else f"{domain}_reset_sync"
        if board.family != "ecp5":
            m.submodules[name] = ResetSynchronizer(arst, domain=domain)
            return
        released = Signal(name=f"{domain}_reset")
        m.submodules[name] = AsyncFFSynchronizer(arst, released, o_domain=domain)
        m.submodules[f"{domain}_reset_buffer"] = Instance(
            "DCCA", i_CLKI=released, i_CE=1, o_CLKO=ResetSignal(domain))

    def elaborate(self, platform):
        m = Module()
        b = self.board
        self._clock(m, platform)
        m.submodules.link = link = self.link

        uart = platform.request("uart", 0)
        m.d.comb += [link.rx.eq(uart.rx.i), uart.tx.o.eq(link.tx)]
        for name in b.constraints()["DRIVE_HIGH"]:
            m.d.comb += platform.request(name, 0).o.eq(1)

        # The LEDs follow the UART's pulses, so they count in its clock.
        host = b.host_domain
        heartbeat = Signal(int(b.host_hz).bit_length())   # top bit: about 1 s on, 1 s off
        m.d[host] += heartbeat.eq(heartbeat + 1)
        # One clock every 2**k clocks (k: ~17 ms), from a toggling heartbeat bit.
        k = int(b.host_hz / 60).bit_length() - 1
        last, tick = Signal(), Signal()
        m.d[host] += [last.eq(heartbeat[k]), tick.eq(last != heartbeat[k])]
        error_seen = Signal()
        with m.If(link.error):
            m.d[host] += error_seen.eq(1)
        lights = [heartbeat[-1], _flash(m, host, link.rx_byte, tick, "rx"),
                  _flash(m, host, link.tx_byte, tick, "tx"), error_seen]
        for number, light in zip(b.leds, lights):
            m.d.comb += platform.request("led", number).o.eq(light)
        return m
