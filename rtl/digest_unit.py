"""DigestUnit: CDIGEST, as a CRANGE through the sentrons hashed in front of them.

    i -> DigestUnit -> o -> sentrons -> answers -> DigestUnit -> answer
         (a CRANGE of the box: records in Z-order)

CDIGEST's digest is the sum, mod 2**64, of every entry's H3 hash (key and
value, ``DIGEST_SEED``) inside the box, and its count the entries'. The sum
does not depend on the order, so the unit sends the box on as a CRANGE and
hashes the records as they come back, one a clock (each is registered as it
arrives and added the next clock). One hash of 208 bits into 64 is some
2,000 LUT4s on the ECP5: here there is one of them, where each sentron's
range walk would otherwise carry its own (``range_walk``'s ``digest``).

BAD_ARG for a bad pattern, as the sentrons would answer it, before any CRANGE.
"""

from amaranth.hdl import Cat, Module, Signal, Value

from vtpu.hash import h3_rows
from vtpu.isa import DIGEST_SEED, DIGEST_WIDTH, DIMS, Op, Status

from .interposer import Interposer
from .sentron.execute import pattern_bad
from .sentron.hash_unit import h3_hash
from .sentron.table import entry_layout

__all__ = ["DigestUnit"]


class DigestUnit(Interposer):
    def claims(self, cmd):
        return cmd.op == Op.CDIGEST

    def capture(self, m, cmd):
        m.d.sync += self.digest.eq(0)

    def datapath(self, m):
        W, VW = self.width, self.value_width
        self.digest = digest = Signal(DIGEST_WIDTH)
        self.staged = staged = Signal()
        self.entry = entry = Signal(entry_layout(W, VW), reset_less=True)
        # in a module of its own: Amaranth's simulator re-evaluates a module's
        # combinational logic whenever one of its inputs changes
        rows = h3_rows(DIGEST_SEED, DIMS * W + VW, DIGEST_WIDTH)
        entry_digest = Signal(DIGEST_WIDTH)
        m.submodules.digest_hash = digest_hash = Module()
        digest_hash.d.comb += entry_digest.eq(h3_hash(Cat(Value.cast(entry.key), entry.value), rows))
        with m.If(staged):
            m.d.sync += digest.eq(digest + entry_digest)
        m.d.sync += staged.eq(0)

    def work(self, m):
        cmd = self.i.payload
        status, count = Signal(Status), Signal(32)
        with m.State("START"):
            with m.If(pattern_bad(cmd.pattern)):
                m.next = "BAD"
            with m.Else():
                m.next = "RANGE"
        with m.State("BAD"):
            self.finish(m, Status.BAD_ARG, aux=0)

        def record(reply):
            m.d.sync += [self.staged.eq(1), self.entry.key.eq(reply.coord),
                         self.entry.value.eq(reply.value)]

        def final(reply):
            # the last record is added this clock: answer from the next
            m.d.sync += [status.eq(reply.status), count.eq(reply.aux)]

        self.ask_range(m, cmd.pattern, record, final, then="ANSWER")

        with m.State("ANSWER"):
            self.finish(m, status, aux=count, value=self.digest)
