"""CreditFIFO: a FIFO into another clock domain for a writer that counts credits.

    w_data, w_en (w_domain) -> [RAM] -> r_data, r_rdy, r_en (r_domain)
    w_level (w_domain): entries written and not yet seen read, a clock late

Amaranth's ``AsyncFIFO`` checks on every write that it is not full: its
synchronised read pointer goes through the full test into the write
pointer's increment and its Gray code, seven to ten LUTs, which was the ECP5
core clock's slowest path once a sentron's answers crossed to the host clock
through one. A writer that holds a credit for every write (``PipelinedSequencer``
counts them from ``w_level``) needs no such test, so here the write pointer
counts ``w_en`` alone, and its Gray code, what the reader synchronises, is
registered from the pointer a clock after the write.

The read side is the same as ``AsyncFIFO``'s (Cummings' style #2): Gray
pointers through two flops each way, ``r_data`` from the RAM's read register.
Both domains are reset together (both sides' counters start at zero), as
``BoardTop`` resets them from the PLL's lock.
"""

from amaranth.hdl import Cat, Elaboratable, Module, Signal
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.memory import Memory

__all__ = ["CreditFIFO"]


def _gray(value):
    return value ^ value[1:]


def _binary(gray):
    bits = [gray[-1]]                   # b[i] = b[i + 1] ^ g[i]
    for i in reversed(range(len(gray) - 1)):
        bits.insert(0, bits[0] ^ gray[i])
    return Cat(*bits)


class CreditFIFO(Elaboratable):
    def __init__(self, *, width, depth, w_domain="sync", r_domain="sync"):
        assert depth >= 2 and depth & (depth - 1) == 0, "depth must be a power of two >= 2"
        self.width, self.depth = width, depth
        self.w_domain, self.r_domain = w_domain, r_domain
        self.w_data = Signal(width)
        self.w_en = Signal()            # never while full: the writer's credits see to it
        self.w_level = Signal(range(depth + 1))
        self.r_data = Signal(width)
        self.r_rdy = Signal()
        self.r_en = Signal()

    def elaborate(self, platform):
        m = Module()
        w, r = m.d[self.w_domain], m.d[self.r_domain]
        bits = self.depth.bit_length()          # one more than the address: full vs empty

        produce = Signal(bits)                  # the next slot written (w_domain)
        produce_gray = Signal(bits)             # its Gray code, a clock later
        w += [produce.eq(produce + self.w_en), produce_gray.eq(_gray(produce))]

        consume = Signal(bits)                  # the next slot read (r_domain)
        consume_next = Signal(bits)
        consume_gray = Signal(bits)
        m.d.comb += consume_next.eq(consume + (self.r_rdy & self.r_en))
        r += [consume.eq(consume_next), consume_gray.eq(_gray(consume_next))]

        produce_seen = Signal(bits)             # produce_gray, in r_domain
        consume_seen = Signal(bits)             # consume_gray, in w_domain
        m.submodules.produce_sync = FFSynchronizer(produce_gray, produce_seen,
                                                   o_domain=self.r_domain)
        m.submodules.consume_sync = FFSynchronizer(consume_gray, consume_seen,
                                                   o_domain=self.w_domain)
        consumed = Signal(bits)                 # consume, as w_domain has seen it
        w += [consumed.eq(_binary(consume_seen)),
              self.w_level.eq(produce - consumed)]
        m.d.comb += self.r_rdy.eq(consume_gray != produce_seen)

        m.submodules.storage = storage = Memory(shape=self.width, depth=self.depth, init=[])
        write = storage.write_port(domain=self.w_domain)
        read = storage.read_port(domain=self.r_domain)
        m.d.comb += [write.addr.eq(produce[:-1]), write.data.eq(self.w_data),
                     write.en.eq(self.w_en),
                     read.addr.eq(consume_next[:-1]), self.r_data.eq(read.data)]
        return m

