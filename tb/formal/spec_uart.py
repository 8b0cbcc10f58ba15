"""UARTRx and UARTTx: the handshake where they have a stream, and a loopback.

``UARTRx.o`` is the only stream either sends (``UARTTx`` receives one and
drives a pin): it follows the rules whatever the line does. ``UARTTx`` keeps
the line high (idle, or a stop bit) whenever it is ready for a byte. Through
a loopback (``tx`` into ``rx``), every byte ``UARTTx`` takes comes out of
``UARTRx``, unchanged and in order, with no framing error or overrun
(bounded: a byte is 10 bits of ``DIVISOR`` clocks).
"""

from amaranth.hdl import Assert, Signal

from rtl.link.uart import UARTRx, UARTTx

from .common import Property, free, receiver, sender

DIVISOR = 4          # the fewest clocks per bit the UART takes: the shortest traces
LOOPBACK_DEPTH = 86   # two bytes back to back (the second out at ~82)


def rx_handshake(m):
    m.submodules.dut = dut = UARTRx(DIVISOR)
    free(m, dut.rx)
    receiver(m, dut.o, "o")


def tx_idle_high(m):
    m.submodules.dut = dut = UARTTx(DIVISOR)
    sender(m, dut.i, "i")
    with m.If(dut.i.ready):
        m.d.comb += Assert(dut.tx, "tx low while ready for a byte")


def loopback(m):
    m.submodules.tx = tx = UARTTx(DIVISOR)
    m.submodules.rx = rx = UARTRx(DIVISOR)
    sender(m, tx.i, "i")
    m.d.comb += [rx.rx.eq(tx.tx), rx.o.ready.eq(1)]
    # the bytes sent and not yet received, oldest first: two at most (the
    # receiver hands a byte over a clock or two after the sender has sent its
    # stop bit and may start the next)
    count, first, second = Signal(range(3)), Signal(8), Signal(8)
    sent, received = tx.i.valid & tx.i.ready, rx.o.valid
    with m.If(received):
        m.d.comb += [Assert(count != 0, "a byte received that was not sent"),
                     Assert(rx.o.payload == first, "a byte received changed")]
        m.d.sync += first.eq(second)
    with m.If(sent):
        with m.If(count - received == 0):
            m.d.sync += first.eq(tx.i.payload)
        with m.Else():
            m.d.sync += second.eq(tx.i.payload)
    m.d.sync += count.eq(count + sent - received)
    m.d.comb += Assert(count + sent - received <= 2, "a third byte sent, two not received")
    m.d.comb += [Assert(rx.framing_errors == 0, "a framing error"),
                 Assert(rx.overruns == 0, "an overrun")]


PROPERTIES = [
    Property("uart_rx_handshake", rx_handshake, "prove", 3,
             "UARTRx.o follows the stream rules, whatever the line does"),
    Property("uart_tx_idle_high", tx_idle_high, "prove", 3,
             "UARTTx holds tx high whenever i.ready (between bytes)"),
    Property("uart_loopback", loopback, "bmc", LOOPBACK_DEPTH,
             "UARTTx into UARTRx: every byte sent is received, unchanged, in order",
             why=f"bounded: {LOOPBACK_DEPTH} clocks, 2 bytes at {DIVISOR} clocks a bit"),
]
