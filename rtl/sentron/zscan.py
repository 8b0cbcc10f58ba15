"""ZScan: the range walk of an entry store too small for ``ZIndex``, by scanning it.

    query (a box) -> ZScan -> hits (entry ids in ascending Z-order, then the end)
                      |  ^
              entries.addr, .en -> the entry store's read port -> entries.data

``ZIndex`` answers a box in the results plus the log of the table, but its
crit-bit tree and walk are some 5,000 LUTs: more than the HX8K has left
beside its cuckoo memory. On a board whose 3 Mbaud link moves a record in
about 100 us, the store can be read whole for each hit instead: a pass reads
every entry and keeps the one inside the box that is least in Z-order above
the last hit (``best``); at the end of the pass that entry is the next hit,
and a pass that finds none ends the answer. A box with ``k`` hits costs
``(k + 1)`` passes of two clocks an entry (an entry's word is registered off
the port, compared, and the verdicts registered before the choice they make;
the next entry is read meanwhile): 256 entries and 16 hits are some 8,700
clocks, 145 us at 60 MHz, against the link's 1.6 ms for those records. The
logic: three 144-bit registers (the word read, the last hit's key and the best
one's), two Z-order comparisons and the box test.

With ``registered`` (the ULX3S's fast clock) the comparisons take two
clocks, their 24-bit slices' (less, equal) registered before the merge
(``merge_parts``), and an entry is read every three clocks: a 144-bit
compare in one clock was the ULX3S core's slowest path after the hash
index's row search (12 logic levels, ``flow.levels``).

The store has a valid bit an entry (a freed entry is read as empty), and
there is nothing to update: the store is the index. The scan shares the read
port with the walk that takes its hits (``range_walk``), which reads each
hit's entry through it: after a hit is taken the scan reads the store again
only once ``query.valid`` is high again, which the walk holds low while it
uses the port. As with ``ZIndex`` the query is taken with the end, and its
box is read from ``query.payload`` until then.
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from vtpu.isa import COORD_WIDTH, DIMS

from ..layouts import coord_layout
from .zindex import hit_layout
from .zorder import merge_groups, merge_parts, z_less, z_parts

__all__ = ["ZScan", "scan_entry_layout", "scan_query_layout"]


def scan_entry_layout(width):
    """What the scan reads of an entry."""
    return data.StructLayout({"valid": 1, "key": coord_layout(width)})


def scan_query_layout(width):
    """The box as a pattern has it: a wildcard component (``wild``) is inside
    whatever its bounds (no multiplexer widening 288 bounds to the full range)."""
    return data.StructLayout({"lo": coord_layout(width), "hi": coord_layout(width),
                              "wild": DIMS})


class ZScan(wiring.Component):
    def __init__(self, *, slots, width=COORD_WIDTH, registered=False):
        assert slots >= 2 and slots & (slots - 1) == 0, "slots must be a power of two >= 2"
        self.slots, self.width, self.registered = slots, width, registered
        self.slot_bits = slots.bit_length() - 1
        super().__init__({
            "entries": Out(wiring.Signature({"addr": Out(self.slot_bits), "en": Out(1),
                                             "data": In(scan_entry_layout(width))})),
            "query": In(stream.Signature(scan_query_layout(width))),
            "hits": Out(stream.Signature(hit_layout(self.slot_bits))),
        })

    def elaborate(self, platform):
        m = Module()
        W = self.width
        lo, hi, wild = self.query.payload.lo, self.query.payload.hi, self.query.payload.wild
        entry = self.entries.data

        at = Signal(self.slot_bits + 1)          # the next entry to read
        shown = Signal()                         # an entry is on the port (read last clock)
        shown_id = Signal(self.slot_bits)
        held = Signal()                          # ``seen`` holds it (the port's word registered)
        seen = Signal(scan_entry_layout(W), reset_less=True)
        seen_id = Signal(self.slot_bits)
        judged = Signal()                        # its comparisons are registered
        first = Signal()                         # no hit answered yet: no lower bound
        last = Signal(coord_layout(W), reset_less=True)   # the last hit's key
        best = Signal(coord_layout(W), reset_less=True)   # this pass's least so far ...
        best_id = Signal(self.slot_bits)
        found = Signal()                         # ... if any
        inside, above_last, below_best = Signal(), Signal(), Signal()

        hits = self.hits
        m.d.comb += hits.payload.slot.eq(best_id)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.query.valid):
                    m.d.sync += [first.eq(1), found.eq(0), at.eq(0)]
                    m.next = "SCAN"

            with m.State("SCAN"):
                # An entry every two clocks, in four steps: it is read; the
                # port's word is registered (``shown``: the block RAM's output
                # is slow, and 144-bit compares from it held the HX8K's
                # clock); compared, the verdicts registered (``held``); taken
                # as the best if they say so (``judged``) -- which the next
                # entry's compare, a clock later, already sees.
                if self.registered:
                    # the compares' slices registered (``merged``, a clock after
                    # ``held``), then merged: an entry every three clocks, so
                    # that the next one's slices see the best this one may make
                    merged = Signal()
                    n_parts = -(-DIMS * W // 24)          # 24-bit slices: 8-bit ones by three
                    parts_last, parts_best = ([(Signal(name=f"{side}_less{n}"),
                                                Signal(name=f"{side}_equal{n}"))
                                               for n in range(n_parts)]
                                              for side in ("above", "below"))
                    m.d.sync += [shown.eq(0), held.eq(shown), merged.eq(held), judged.eq(merged)]
                else:
                    m.d.sync += [shown.eq(0), held.eq(shown), judged.eq(held)]
                with m.If(shown):
                    m.d.sync += [seen.eq(entry), seen_id.eq(shown_id)]
                with m.If(held):
                    box = Cat(*(wild[i] | ((lo[i] <= seen.key[i]) & (seen.key[i] <= hi[i]))
                                for i in range(DIMS))).all()
                    if self.registered:
                        m.d.sync += inside.eq(seen.valid & box)
                        for regs, parts in ((parts_last, z_parts(last, seen.key, W)),
                                            (parts_best, z_parts(seen.key, best, W))):
                            m.d.sync += [reg.eq(part)
                                         for pair in zip(regs, merge_groups(parts, 3), strict=True)
                                         for reg, part in zip(*pair)]
                    else:
                        m.d.sync += [inside.eq(seen.valid & box),
                                     above_last.eq(first | z_less(last, seen.key, W)),
                                     below_best.eq(~found | z_less(seen.key, best, W))]
                if self.registered:
                    with m.If(merged):
                        m.d.sync += [above_last.eq(first | merge_parts(parts_last)),
                                     below_best.eq(~found | merge_parts(parts_best))]
                    with m.If(~shown & ~held & ~at[-1]):
                        m.d.comb += [self.entries.addr.eq(at), self.entries.en.eq(1)]
                        m.d.sync += [at.eq(at + 1), shown.eq(1), shown_id.eq(at)]
                else:
                    with m.If(~shown & ~at[-1]):
                        m.d.comb += [self.entries.addr.eq(at), self.entries.en.eq(1)]
                        m.d.sync += [at.eq(at + 1), shown.eq(1), shown_id.eq(at)]
                with m.If(judged & inside & above_last & below_best):
                    m.d.sync += [best.eq(seen.key), best_id.eq(seen_id), found.eq(1)]
                idle = at[-1] & ~shown & ~held & ~judged
                with m.If((idle & ~merged) if self.registered else idle):
                    m.next = "OFFER"

            with m.State("OFFER"):
                m.d.comb += [hits.valid.eq(1), hits.payload.end.eq(~found)]
                with m.If(hits.ready):
                    with m.If(found):
                        m.d.sync += [last.eq(best), first.eq(0), found.eq(0), at.eq(0)]
                        m.next = "RESUME"
                    with m.Else():
                        m.d.comb += self.query.ready.eq(1)
                        m.next = "IDLE"

            with m.State("RESUME"):
                # the walk reads the hit's entry through the port: wait for it
                with m.If(self.query.valid):
                    m.next = "SCAN"
        return m
