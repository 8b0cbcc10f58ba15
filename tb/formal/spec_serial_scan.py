"""SerialScan (the iCEBreaker's range walk, a component a clock): the handshake
on ``hits``, given it on ``query``; it answers only a query that is offered,
and reads the store and turns the pattern only while one is.

Small: 2 entries (the components stay 16 bits: four fill the store's
64-bit word); what the store and the bounds hold is free on any clock.

The sender here keeps the stream rules: ``query`` offered until the end is
taken. The sentron's walk does not: it drops ``query.valid`` after each hit
while it answers it (``HOLD`` waits for it back), and the scan turns the
pattern in ``SWAP_OUT`` meanwhile. That wait is checked in simulation
(tests/rtl/sentron/test_serial_scan.py, the iCEBreaker's sentron against the
model), not here.
"""

from amaranth.hdl import Assert

from rtl.sentron.serial_scan import SerialScan

from .common import Inside, Property, free, receiver, sender


def handshake(m):
    dut = SerialScan(entries=2)
    inside = Inside(m, "dut", dut)
    free(m, dut.fetch.word)
    free(m, dut.every)        # (CDIGEST's one pass: any clock, either way)
    sender(m, dut.query, "query")
    receiver(m, dut.hits, "hits")
    for what, busy in (("a hit", dut.hits.valid), ("the store read", dut.fetch.en),
                       ("the pattern turned", dut.turn.turn)):
        with m.If(busy):
            m.d.comb += Assert(dut.query.valid, f"{what} with no query offered")
    # Strengthening: a scan starts only on an offered query, which its sender
    # holds until the end is taken with it.
    with m.If(~inside.state("IDLE")):
        m.d.comb += Assert(dut.query.valid, "scanning with no query offered")


PROPERTIES = [
    Property("serial_scan_handshake", handshake, "prove", 3,
             "SerialScan.hits follows the stream rules when query does, answers only an "
             "offered query, and reads the store and turns the pattern only while one is "
             "offered"),
]
