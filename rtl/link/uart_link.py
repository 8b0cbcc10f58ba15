"""UARTLink: serial pins in and out of a byte-stream core (RX -> FIFO -> core -> FIFO -> TX).

Board-independent: the board tops wrap it, and the end-to-end UART simulation
drives it bit by bit.
"""

from amaranth.hdl import DomainRenamer, Module
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from .skid_buffer import SkidBuffer
from .stream_register import StreamRegister
from .uart import UARTRx, UARTTx

__all__ = ["UARTLink"]


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
