"""BoardTop: a byte core behind the UART link, with the board's PLL, resets, pins and LEDs."""

from amaranth.hdl import ClockDomain, Elaboratable, Instance, Module, ResetSignal, Signal
from amaranth.lib import io
from amaranth.lib.cdc import AsyncFFSynchronizer, ResetSynchronizer

from ..link.uart_link import UARTLink
from .settings import Board, ice40_filter_range

__all__ = ["BoardTop", "vtpu_core"]


def vtpu_core(board):
    """The default core: the vTPU sized for the board."""
    from ..top import VTPU
    memory = dict(memory=board.memory) if board.memory is not None else \
        dict(sets=board.sets, ways=board.ways)
    return VTPU(sentrons=board.sentrons, **memory, ops=board.ops,
                pipelined=board.pipelined, host_domain=board.host_domain,
                table_groups=board.table_groups, ops_unit=board.ops_unit,
                index_queue=board.index_queue)


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
                a_FREQUENCY_PIN_CLKOP=str(round(b.clk_hz / 1e6, 4)),   # 60.0 on the ULX3S
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
