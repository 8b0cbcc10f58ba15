"""SerialRoutes: CROUTE RANGE's ownership table in one block RAM, scanned a component a clock.

    coord, node, index, count -> SerialRoutes -> done, found, owner
    write (CRTSET) / scan (CROUTE RANGE), held until ``taken``

The table (``ROUTE_ENTRIES`` bounds and their nodes, ``route_table``) is 16
rows of 160 bits: as one wide memory that is ten of an iCE40's 16-bit block
RAMs, of which the HX8K has none left. Here it is 16-bit words, an entry's
nine bound components and its node at 16 addresses of one block RAM, and:

* CRTSET (``write``) writes the entry's ten words a clock each;
* CROUTE RANGE (``scan``) reads, for each of the first ``count`` entries,
  its bound a component at a time, and after it the same component of the
  best bound so far (the port's next read), and folds both into two Z-order
  compares (``z_step``: the coordinate against the bound, and the best
  against the bound), so every compare is 16 bits wide. An entry whose
  bound is at or below the coordinate and above the best (the lowest index
  on a tie) becomes the best; after the last entry the best's node is read.

Two clocks a component, 2 * DIMS + 1 an entry: a scan of 16 entries answers
in about 300 clocks, where the HX8K's 3 Mbaud link takes some 1,800 clocks to
bring the CROUTE in. ``done`` holds (with ``found`` and ``owner``) until
``taken``; the request must hold until then, with its operands.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vtpu.isa import COORD_WIDTH, DIMS, ROUTE_ENTRIES

from ..layouts import coord_layout
from .serial_scan import z_step

__all__ = ["SerialRoutes"]


class SerialRoutes(wiring.Component):
    NODE_WIDTH = 16
    WORDS = 16             # addresses an entry: the bound's components, then the node

    def __init__(self, width=COORD_WIDTH):
        assert DIMS + 1 <= self.WORDS
        self.width = width
        super().__init__({
            "coord": In(coord_layout(width)),      # CRTSET: the bound; CROUTE: the coordinate
            "node": In(self.NODE_WIDTH),           # CRTSET: the entry's node
            "index": In(range(ROUTE_ENTRIES)),     # CRTSET: the entry
            "count": In(range(ROUTE_ENTRIES + 1)),  # CROUTE: the entries scanned, 1..16
            "write": In(1),
            "scan": In(1),
            "taken": In(1),        # the answer goes: ready for the next request
            "done": Out(1),
            "found": Out(1),       # CROUTE: an entry's bound is at or below the coordinate
            "owner": Out(self.NODE_WIDTH),
        })

    def elaborate(self, platform):
        m = Module()
        W = self.width
        word_width = max(W, self.NODE_WIDTH)
        m.submodules.table = table = Memory(shape=word_width, depth=ROUTE_ENTRIES * self.WORDS,
                                            init=[])
        w = table.write_port()
        r = table.read_port(transparent_for=())
        word_bits = (self.WORDS - 1).bit_length()
        entry_bits = (ROUTE_ENTRIES - 1).bit_length()

        def address(entry, word):
            def field(value, bits):
                return Const(value, bits) if isinstance(value, int) else Value.cast(value)[:bits]
            return Cat(field(word, word_bits), field(entry, entry_bits))

        component = Signal(range(self.WORDS))     # the word under way
        entry = Signal(range(ROUTE_ENTRIES))
        best = Signal(range(ROUTE_ENTRIES))
        best_valid = Signal()
        bound = Signal(W, reset_less=True)        # the entry's component, off the port
        # the two compares so far (``z_step``): coordinate < bound, best < bound
        below_top, below = Signal(W), Signal()
        above_top, above = Signal(W), Signal()
        coord_word = Value.cast(self.coord).word_select(
            Mux(component < DIMS, component, 0)[:(DIMS - 1).bit_length()], W)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.done):
                    with m.If(self.taken):
                        m.d.sync += [self.done.eq(0), self.found.eq(0)]
                with m.Elif(self.write):
                    m.d.comb += [w.addr.eq(address(self.index, component)), w.en.eq(1),
                                 w.data.eq(Mux(component == DIMS, self.node, coord_word))]
                    m.d.sync += component.eq(component + 1)
                    with m.If(component == DIMS):
                        m.d.sync += [component.eq(0), self.done.eq(1)]
                with m.Elif(self.scan):
                    m.d.comb += r.addr.eq(address(0, 0))
                    m.d.sync += [entry.eq(0), component.eq(0), best_valid.eq(0)]
                    m.next = "BOUND"
            with m.State("BOUND"):
                # the entry's component is on the port: the best's is asked for
                m.d.comb += r.addr.eq(address(best, component))
                m.d.sync += bound.eq(r.data[:W])
                m.next = "STEP"
            with m.State("STEP"):
                first = component == 0
                below_next = z_step(coord_word, bound, Mux(first, 0, below_top),
                                    Mux(first, 0, below))
                above_next = z_step(r.data[:W], bound, Mux(first, 0, above_top),
                                    Mux(first, 0, above))
                m.d.sync += [below_top.eq(below_next[0]), below.eq(below_next[1]),
                             above_top.eq(above_next[0]), above.eq(above_next[1])]
                with m.If(component == DIMS - 1):
                    m.next = "VERDICT"
                with m.Else():
                    m.d.comb += r.addr.eq(address(entry, component + 1))
                    m.d.sync += component.eq(component + 1)
                    m.next = "BOUND"
            with m.State("VERDICT"):
                better = ~below & (~best_valid | above)
                chosen = Mux(better, entry, best)
                with m.If(better):
                    m.d.sync += [best.eq(entry), best_valid.eq(1)]
                with m.If(entry == self.count - 1):
                    m.d.comb += r.addr.eq(address(chosen, DIMS))
                    m.d.sync += [self.found.eq(best_valid | better), component.eq(0)]
                    m.next = "NODE"
                with m.Else():
                    m.d.comb += r.addr.eq(address(entry + 1, 0))
                    m.d.sync += [entry.eq(entry + 1), component.eq(0)]
                    m.next = "BOUND"
            with m.State("NODE"):
                m.d.sync += [self.owner.eq(r.data[:self.NODE_WIDTH]), self.done.eq(1)]
                m.next = "IDLE"
        return m
