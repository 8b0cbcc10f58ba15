"""UART receiver and transmitter (8N1) as stream components.

The bit time is ``divisor`` clocks; ``uart_divisor(clk_freq, baud)`` picks it
and refuses a clock/baud pair whose rounding error would eat into the 8N1
sampling margin. The line idles high; a byte is a low start bit, eight data
bits LSB first and a high stop bit.
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["uart_divisor", "UARTRx", "UARTTx"]

# 8N1 samples the stop bit 9.5 bit times after the start edge; the two ends
# together may drift less than half a bit over that, so each side gets < 2.5%.
# Keep our own share well under that.
MAX_BAUD_ERROR = 0.015


def uart_divisor(clk_freq, baud, *, max_error=MAX_BAUD_ERROR):
    """Clocks per bit for ``baud`` at ``clk_freq``; ValueError if it is too far off."""
    divisor = round(clk_freq / baud)
    if divisor < 4:
        raise ValueError(f"{clk_freq / 1e6:g} MHz is too slow for {baud} baud "
                         f"(need >= 4 clocks per bit)")
    error = abs(clk_freq / divisor - baud) / baud
    if error > max_error:
        raise ValueError(f"{baud} baud at {clk_freq / 1e6:g} MHz is off by {error:.2%} "
                         f"(divisor {divisor}); limit {max_error:.1%}")
    return divisor


class UARTRx(wiring.Component):
    """Serial line in, bytes out.

    ``rx`` is the pin (asynchronous; synchronised here by two flip-flops).
    A start bit is confirmed half a bit after its falling edge (shorter
    glitches are ignored) and every later bit is sampled in its middle. A
    byte whose stop bit is low is dropped and counted in ``framing_errors``;
    the receiver then waits for the line to go high again, so a break gives
    one error, not a stream of zero bytes. The line cannot be stalled: a byte
    that completes while the previous one is still unaccepted is dropped and
    counted in ``overruns`` (the held byte stays valid). Both counters
    saturate.
    """

    def __init__(self, divisor):
        if divisor < 4:
            raise ValueError("a bit must last at least 4 clocks")
        self.divisor = divisor
        super().__init__({
            "rx": In(1, init=1),
            "o": Out(stream.Signature(8)),
            "framing_errors": Out(8),
            "overruns": Out(8),
        })

    def elaborate(self, platform):
        m = Module()

        line = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, line, init=1)

        timer = Signal(range(self.divisor))
        bits = Signal(8)
        count = Signal(range(8))
        done = Signal()  # a good byte completes this clock

        with m.If(timer != 0):
            m.d.sync += timer.eq(timer - 1)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    m.d.sync += timer.eq(self.divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer == 0):
                    with m.If(line):
                        m.next = "IDLE"  # too short for a start bit: noise
                    with m.Else():
                        m.d.sync += [timer.eq(self.divisor - 1), count.eq(0)]
                        m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer == 0):
                    m.d.sync += [bits.eq(Cat(bits[1:], line)), timer.eq(self.divisor - 1),
                                 count.eq(count + 1)]
                    with m.If(count == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer == 0):
                    with m.If(line):
                        m.d.comb += done.eq(1)
                        m.next = "IDLE"  # half a bit early: room for a fast sender
                    with m.Else():
                        with m.If(self.framing_errors != 0xff):
                            m.d.sync += self.framing_errors.eq(self.framing_errors + 1)
                        m.next = "BREAK"
            with m.State("BREAK"):
                with m.If(line):
                    m.next = "IDLE"

        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(done):
            with m.If(~self.o.valid | self.o.ready):
                m.d.sync += [self.o.payload.eq(bits), self.o.valid.eq(1)]
            with m.Elif(self.overruns != 0xff):
                m.d.sync += self.overruns.eq(self.overruns + 1)

        return m


class UARTTx(wiring.Component):
    """Bytes in, serial line out; ``i.ready`` while the line is idle.

    ``tx`` comes straight from a flip-flop, so no glitch reaches the pin.
    """

    def __init__(self, divisor):
        if divisor < 4:
            raise ValueError("a bit must last at least 4 clocks")
        self.divisor = divisor
        super().__init__({
            "i": In(stream.Signature(8)),
            "tx": Out(1, init=1),
        })

    def elaborate(self, platform):
        m = Module()

        timer = Signal(range(self.divisor))
        shift = Signal(9)          # data bits then the stop bit, sent LSB first
        left = Signal(range(11))   # bit times still to send, start bit included

        m.d.comb += self.i.ready.eq(left == 0)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [self.tx.eq(0), shift.eq(Cat(self.i.payload, 1)), left.eq(10),
                         timer.eq(self.divisor - 1)]
        with m.Elif(left != 0):
            with m.If(timer == 0):
                m.d.sync += [self.tx.eq(shift[0] | (left == 1)), shift.eq(shift >> 1),
                             left.eq(left - 1), timer.eq(self.divisor - 1)]
            with m.Else():
                m.d.sync += timer.eq(timer - 1)

        return m
