"""ZScan (the range walk that scans the store): the handshake on ``hits``, given
it on ``query``; it answers only a query that is offered, and reads the store
only while one is.

Small: 4 slots, 2-bit components; what the store answers is free (any entry
on any clock).
"""

from amaranth.hdl import Assert

from rtl.sentron.zscan import ZScan

from .common import Inside, Property, free, receiver, sender


def handshake(m):
    dut = ZScan(slots=4, width=2)
    inside = Inside(m, "dut", dut)
    free(m, dut.entries.data)
    sender(m, dut.query, "query")
    receiver(m, dut.hits, "hits")
    with m.If(dut.hits.valid):
        m.d.comb += Assert(dut.query.valid, "a hit with no query offered")
    with m.If(dut.entries.en):
        m.d.comb += Assert(dut.query.valid, "the store read with no query offered")
    # Strengthening: a scan starts only on an offered query, which its sender
    # holds until the end is taken with it.
    with m.If(~inside.state("IDLE")):
        m.d.comb += Assert(dut.query.valid, "scanning with no query offered")


PROPERTIES = [
    Property("zscan_handshake", handshake, "prove", 3,
             "ZScan.hits follows the stream rules when query does, answers only an "
             "offered query, and reads the store only while one is offered"),
]
