"""SerialScan: ``ZScan``'s range walk a component a clock, for a store read a word at a time.

    query (the box's component under way) -> SerialScan -> hits (entry ids in Z-order,
              ^  turn: show the next component          or store order: ``every``; the end)
              |
    fetch.id, .beat, .en -> the entry store (``SerialEntryStore``) -> fetch.word

The iCEBreaker's entries are in SPRAM, four 64-bit words each (the key's
components 0-3, 4-7, then 8 and the valid bit; the value), and its fabric
has no room for ``ZScan``'s two 144-bit Z-order compares and eighteen
bound compares (~1,500 LUT4s). This scan compares one 16-bit component a
clock instead, so every compare is 16 bits wide:

* the box's bounds come from where the instruction is held, one component
  at a time: ``query.payload`` shows component 0, and each ``turn`` shows
  the next (the frame decoder turns the held pattern's flops, which costs
  them nothing: each already has a LUT in front of it). Nine turns an
  entry bring it back;
* the last hit's key and this pass's best one are in a block RAM, a
  component an address, read a component at a time through two ports. The
  entry under way is written beside them as it goes by; when it becomes the
  best, the regions trade names (``cand`` and ``best``), and when the best
  becomes the last hit, ``best`` and ``last`` do: no key is ever copied;
* "a precedes b in Z-order" is decided at the most significant bit where
  they differ. Component by component, that is the component whose XOR has
  the highest top bit (the lowest-numbered on a tie: bit ``b`` of component
  ``i`` is Morton bit ``b * DIMS + DIMS - 1 - i``), and there ``a < b``. The
  scan keeps where that component's XOR has its top bit, as a thermometer
  (``smear``), and its verdict (``z_step``).

As with ``ZScan``, a pass reads every entry and keeps the one inside the box
that is least in Z-order above the last hit; that is the next hit, and a
pass that finds none ends the answer. An entry takes ``CLOCKS`` (12): its
three key words asked four clocks apart, each component taken off the port
into a register, then compared with the bounds and the two keys read for it.
A box with ``k`` hits costs ``(k + 1) * 12 * entries`` clocks: with 4,096
entries 1.8 ms a pass at 27 MHz, where the 3 Mbaud link takes about 0.1 ms
to send a record. After a hit is taken the scan reads the store again only
once ``query.valid`` is high again (the walk reads the hit's entry through
the same port meanwhile); the query is taken with the end.

With ``every`` (CDIGEST, whose sum needs no order) each entry inside the box
is a hit as soon as it is judged, and the scan goes on from the next entry
once it is answered: one pass, ``12 * entries`` clocks and the answers'.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vtpu.isa import COORD_WIDTH, DIMS

from ..layouts import pattern_turn_signature
from .zindex import hit_layout

__all__ = ["SerialScan", "bounds_layout", "smear", "z_step"]


def bounds_layout(width=COORD_WIDTH):
    """One component of the box: its bounds, or that it is a wildcard."""
    return data.StructLayout({"lo": width, "hi": width, "wild": 1})


def smear(x):
    """Every bit at or below ``x``'s top bit set: a thermometer of its position.
    Reversed, that is every bit at or above the lowest set one, ``r | -r``: the
    negation is a carry chain, not a chain of LUTs (ABC made one of the plain
    suffix OR, 12 LUTs deep, where it saw slack; the UP5K's routing has none)."""
    n = len(x)
    reverse = Cat(*(x[n - 1 - i] for i in range(n)))
    low = reverse | (-reverse)[:n]
    return Cat(*(low[n - 1 - i] for i in range(n)))


def z_step(a, b, kept_top, kept_less):
    """One component of "``a`` precedes ``b`` in Z-order", components taken in
    order from 0, with (``kept_top``, ``kept_less``) both 0 before component 0.
    ``kept_top`` is the thermometer (``smear``) of the XOR of the component
    that decides so far, ``kept_less`` its verdict. Returns the pair to keep:
    this component's when its XOR's top bit is above the kept one's, else the
    kept ones. After the last component ``less`` is the answer (equal: 0)."""
    x = a ^ b
    # (a bit of the XOR above the kept thermometer: its top bit is higher;
    # no need to wait for the smear)
    higher = (x & ~kept_top).any()
    return Mux(higher, smear(x), kept_top), Mux(higher, a < b, kept_less)


class SerialScan(wiring.Component):
    CLOCKS = 12            # an entry: three words asked four clocks apart
    LANES = 4              # components a word

    def __init__(self, *, entries, width=COORD_WIDTH, word=64, beat_bits=2):
        assert entries >= 2 and entries & (entries - 1) == 0, "entries: a power of two >= 2"
        assert word == self.LANES * width, "a word holds four components"
        self.entries, self.width = entries, width
        self.entry_bits = entries.bit_length() - 1
        super().__init__({
            "fetch": Out(wiring.Signature({"id": Out(self.entry_bits), "beat": Out(beat_bits),
                                           "en": Out(1), "word": In(word)})),
            "query": In(stream.Signature(bounds_layout(width))),
            "turn": Out(pattern_turn_signature(width)),
            "hits": Out(stream.Signature(hit_layout(self.entry_bits))),
            "holding": Out(1),   # the last hit's key is where the bounds' lo was
            # every entry inside the box, in one pass in the store's order,
            # not Z-order's (CDIGEST: a sum); held with the query
            "every": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        W, E = self.width, self.entry_bits
        bounds, word = self.query.payload, self.fetch.word

        # the keys: three regions of 16 addresses, a component an address,
        # and a fourth for the bounds' lo while a hit's key is in its place
        LO = 3
        m.submodules.keys = keys = Memory(shape=W, depth=64, init=[])
        keys_w = keys.write_port()
        last_r, best_r = keys.read_port(transparent_for=()), keys.read_port(transparent_for=())
        last, best, cand = (Signal(2, init=n, name=name)
                            for n, name in enumerate(("last_region", "best_region", "cand_region")))

        at = Signal(E + 1)                       # the entry under way (its top bit: done)
        phase = Signal(range(self.CLOCKS))
        component = Signal(data.StructLayout({"value": W, "valid": 1}), reset_less=True)
        first = Signal()                         # no hit answered yet: no lower bound
        found = Signal()                         # this pass has a best ...
        best_id = Signal(E)                      # ... here
        judged_id = Signal(E)                    # the entry whose verdict is next
        # the entry so far: within the box; the last hit precedes it; it
        # precedes the best (``z_step``); each as it should be before component 0
        inside = Signal(init=1)
        above_top, above_less = Signal(W), Signal()
        below_top, below_less = Signal(W), Signal()

        hits = self.hits
        m.d.comb += [hits.payload.slot.eq(best_id), self.fetch.id.eq(at[:E])]

        def judge():
            """The entry just compared becomes the best if it is inside the box,
            after the last hit and before the best (``every``: a hit at once,
            whose answer the scan stops for); then the next starts afresh."""
            ordered = (first | above_less) & (~found | below_less)
            with m.If(component.valid & inside & (self.every | ordered)):
                m.d.sync += [best_id.eq(judged_id), found.eq(1), best.eq(cand), cand.eq(best)]
                with m.If(self.every):
                    m.next = "OFFER"
            # (cleared: judged again when ``every`` resumes at phase 0, it is no hit)
            m.d.sync += [inside.eq(1), above_top.eq(0), above_less.eq(0),
                         below_top.eq(0), below_less.eq(0), component.valid.eq(0)]

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.query.valid):
                    m.d.sync += [first.eq(1), found.eq(0), at.eq(0), phase.eq(0),
                                 last.eq(0), best.eq(1), cand.eq(2)]
                    m.next = "SCAN"

            with m.State("SCAN"):
                m.d.sync += phase.eq(Mux(phase == self.CLOCKS - 1, 0, phase + 1))
                # the key's words asked at phases 0, 4 and 8; each on the port
                # two clocks later, until the next one arrives
                with m.If((phase[:2] == 0) & ~at[-1]):
                    m.d.comb += [self.fetch.en.eq(1), self.fetch.beat.eq(phase[2:])]
                # component c off the port at phase c + 2 (and the valid bit
                # with component 8), its two keys' components asked meanwhile
                taking = (phase >= 2) & (phase < 2 + DIMS)
                c_taken = phase - 2
                with m.If(taking):
                    lane = c_taken[:2]
                    m.d.sync += component.value.eq(word.word_select(lane, W))
                    with m.If(c_taken == DIMS - 1):
                        m.d.sync += component.valid.eq(word[W])
                m.d.comb += [last_r.addr.eq(Cat(c_taken[:4], last)),
                             best_r.addr.eq(Cat(c_taken[:4], best))]
                # compared at phase c + 3
                comparing = phase >= 3
                c = phase - 3
                key = component.value
                box = bounds.wild | ((bounds.lo <= key) & (key <= bounds.hi))
                inside_now = inside & box
                a_top, a_less = z_step(last_r.data, key, above_top, above_less)
                b_top, b_less = z_step(key, best_r.data, below_top, below_less)
                with m.If(comparing):
                    m.d.comb += [self.turn.turn.eq(1), keys_w.addr.eq(Cat(c[:4], cand)),
                                 keys_w.data.eq(key), keys_w.en.eq(1)]
                    m.d.sync += [inside.eq(inside_now), above_top.eq(a_top),
                                 above_less.eq(a_less), below_top.eq(b_top),
                                 below_less.eq(b_less)]
                with m.If(phase == self.CLOCKS - 1):
                    m.d.sync += [at.eq(at + 1), judged_id.eq(at[:E])]
                    with m.If(at == self.entries - 1):
                        m.next = "JUDGE"
                # the entry before is judged on its registered results (from
                # the key RAM's port through a whole verdict into the best's
                # enables was too long for the UP5K at 27 MHz), before this
                # entry's first compare; its regions trade names before this
                # entry reads them (phase 2)
                with m.If((phase == 0) & (at != 0)):
                    judge()

            with m.State("JUDGE"):
                judge()
                m.next = "OFFER"

            with m.State("OFFER"):
                m.d.comb += [hits.valid.eq(1), hits.payload.end.eq(~found)]
                with m.If(hits.ready):
                    with m.If(found):
                        m.d.sync += [last.eq(best), best.eq(last), first.eq(0), found.eq(0),
                                     phase.eq(0)]
                        with m.If(~self.every):      # (``every`` goes on from the next)
                            m.d.sync += at.eq(0)
                        m.next = "SWAP_OUT"
                    with m.Else():
                        m.d.comb += self.query.ready.eq(1)
                        m.next = "IDLE"

            # The hit's key goes where the bounds' lo was, a component a
            # clock as the pattern turns, and lo into the fourth region; the
            # answer takes the key from there (``holding``); then lo goes
            # back the same way. Component t is read at phase t and moves
            # at phase t + 1.
            def exchange(source, keep_leaving, done):
                """``done``: the state after the ninth component, or a callable
                that sets it."""
                t = phase - 1
                m.d.sync += phase.eq(phase + 1)
                m.d.comb += last_r.addr.eq(Cat(phase[:4], source))
                with m.If(phase != 0):
                    m.d.comb += [self.turn.turn.eq(1), self.turn.replace.eq(1),
                                 self.turn.component.eq(last_r.data)]
                    if keep_leaving:
                        m.d.comb += [keys_w.addr.eq(Cat(t[:4], Const(LO, 2))), keys_w.data.eq(bounds.lo),
                                     keys_w.en.eq(1)]
                with m.If(phase == DIMS):
                    m.d.sync += phase.eq(0)
                    if callable(done):
                        done()
                    else:
                        m.next = done

            with m.State("SWAP_OUT"):
                exchange(last, keep_leaving=True, done="HOLD")

            with m.State("HOLD"):
                # the walk answers the hit (reading its value through the
                # store meanwhile): wait for it
                m.d.comb += self.holding.eq(1)
                with m.If(self.query.valid):
                    m.next = "SWAP_IN"

            def resume():
                # (``every``, after the last entry's hit: the pass is over)
                m.next = "SCAN"
                with m.If(at[-1]):
                    m.next = "JUDGE"

            with m.State("SWAP_IN"):
                exchange(Const(LO, 2), keep_leaving=False, done=resume)
        return m
