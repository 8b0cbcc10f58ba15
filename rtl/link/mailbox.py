"""Mailbox: a stream into another clock domain for payloads that come seldom.

    i (w_domain) ---- payload, held by the sender ----> o (r_domain)
        req (toggles) -> 2 flops -> o.valid = req != seen
        i.ready <- ack (= seen) <- 2 flops

An AsyncFIFO stores each payload in RAM, and its read pointer, the RAM and
its read register sit on one path: for a 630-bit command that path (the
pointer's increment into the address of 158 RAM cells spread over the chip)
was the ECP5 core clock's slowest. Commands come from a byte-serial decoder,
one per twenty bytes or more, so a handshake per payload costs nothing.

The payload is never copied: a stream's sender holds its payload from
``valid`` until the transfer (Amaranth's stream rules), and the transfer on
``i`` completes only once the receiver has taken it. The receiver sees
``o.valid`` a clock of the sender's and two of its own after the payload
settled, so what it works out from the payload combinationally (the array
hashes the coordinate) has that long to settle: those paths start at the
sender's registers and are not timed against either clock.
Rate: one payload per about three clocks of each domain.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["Mailbox"]


class Mailbox(wiring.Component):
    def __init__(self, shape, *, w_domain="sync", r_domain="sync"):
        self.shape, self.w_domain, self.r_domain = shape, w_domain, r_domain
        super().__init__({
            "i": In(stream.Signature(shape)),
            "o": Out(stream.Signature(shape)),
        })

    def elaborate(self, platform):
        m = Module()
        w, r = m.d[self.w_domain], m.d[self.r_domain]
        req = Signal()          # toggled as each payload is offered (w_domain)
        busy = Signal()         # offered, not yet taken (w_domain)
        seen = Signal()         # toggled as each payload is taken (r_domain)
        req_r, ack_w = Signal(), Signal()
        m.submodules.req_sync = FFSynchronizer(req, req_r, o_domain=self.r_domain)
        m.submodules.ack_sync = FFSynchronizer(seen, ack_w, o_domain=self.w_domain)

        with m.If(self.i.valid & ~busy):
            w += [req.eq(~req), busy.eq(1)]
        # taken on the far side: the transfer here completes
        m.d.comb += self.i.ready.eq(busy & (ack_w == req))
        with m.If(self.i.ready):
            w += busy.eq(0)

        m.d.comb += [self.o.payload.eq(self.i.payload), self.o.valid.eq(req_r != seen)]
        with m.If(self.o.valid & self.o.ready):
            r += seen.eq(req_r)
        return m
