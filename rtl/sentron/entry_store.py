"""SerialEntryStore: one sentron's entry store in a single-port RAM of 64-bit words.

The UP5K's 1 Mbit of SPRAM is four single-port RAMs of 16K x 16 bits, too
narrow for an entry (valid, a 144-bit key and a 64-bit value) a row. Side by
side they are one RAM of 64-bit words, and an entry takes four of them, at
``(id << 2) + beat``:

    beat 0, 1   the key's bits 0-63, 64-127
    beat 2      the key's bits 128-143, then valid, then zeros
    beat 3      the value

so a lookup reads three words and compares each with the same slice of the
key it is given (``done`` with ``match`` five clocks after ``lookup``: each
word's compare is registered), and leaves the value's word on the port
(``stored``) from ``done`` until the next operation. Writing a new entry's key takes three
clocks (``write_key``, ``busy`` meanwhile); its value (``write_value``) and
clearing its valid bit (``invalidate``) one each. ``move`` copies entry
``id`` into entry ``to``, every word, each read then written as it arrives
(three clocks a word, ``busy`` meanwhile): the cuckoo index's relocation,
where an entry lives in its slot's place. ``fetch`` reads word ``beat`` of
entry ``id``, on ``word`` two clocks later and until the next read: the
range scan's (``SerialScan``) and the records' way in (``word``: the
whole of it). Requests reach the RAM a
clock after they are made, in order, so a read always sees the writes asked
for before it. A read never shares a clock with a write, so the RAM's
read-during-write behaviour (SPRAM: the output keeps its old word) never
shows.

The RAM has no initial contents on the FPGA (its memory carries
``ram_style = "huge"``, and the build drops its zero initialiser, which
SPRAM cannot take: ``DROP_SPRAM_INIT``). Nothing reads an entry before writing
it: the hash index points only at entries written since.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vtpu.isa import COORD_WIDTH, VALUE_WIDTH

from ..layouts import coord_layout

__all__ = ["SerialEntryStore", "DROP_SPRAM_INIT"]

# Yosys maps no memory with initial contents onto SPRAM, and Amaranth gives
# every memory one (zeros): the board build runs this after reading the
# design, on the memories named ``spram``.
DROP_SPRAM_INIT = "delete t:$meminit_v2 r:MEMID=*spram %i"


class SerialEntryStore(wiring.Component):
    WORD = 64

    def __init__(self, *, entries, width=COORD_WIDTH, value_width=VALUE_WIDTH):
        assert value_width <= self.WORD, "the value takes one word"
        self.entries = entries
        self.entry_bits = max(1, (entries - 1).bit_length())
        self.key_words = -(-(coord_layout(width).size + 1) // self.WORD)   # the key, then valid
        self.beat_bits = self.key_words.bit_length()              # key words and the value's
        # ``lookup`` to ``done``: a word a clock, the first two clocks after its
        # request, each compared a clock after it arrives
        self.lookup_clocks = self.key_words + 2
        super().__init__({
            "id": In(self.entry_bits),
            "key": In(coord_layout(width)),
            "value": In(value_width),
            "lookup": In(1),         # compare entry ``id``'s key and valid with ``key``
            "write_key": In(1),      # write ``key`` into entry ``id``, valid
            "write_value": In(1),    # write ``value`` into entry ``id``
            "invalidate": In(1),     # clear entry ``id``'s valid bit
            "move": In(1),           # copy entry ``id`` into entry ``to``
            "fetch": In(1),          # read word ``beat`` of entry ``id`` (onto ``word``)
            "beat": In(self.beat_bits),
            "to": In(self.entry_bits),
            "busy": Out(1),          # a lookup, a key's write or a move is under way
            "done": Out(1),          # the lookup's answer: ``match``
            "match": Out(1),
            "stored": Out(value_width),   # the entry's value, from ``done`` on
            "word": Out(self.WORD),       # the word last read
        })

    def elaborate(self, platform):
        m = Module()
        K, B = self.key_words, self.beat_bits
        m.submodules.spram = ram = Memory(shape=self.WORD, depth=self.entries << B, init=[],
                                          attrs={"ram_style": "huge"})
        w = ram.write_port()
        r = ram.read_port(transparent_for=())
        # Every request (address, enables, data) is registered before it
        # reaches the RAM: the SPRAMs sit at the die's edge, and the address
        # straight from the sequencer's candidate select made 27.5 MHz, not 30.
        addr = Signal(self.entry_bits + B)
        read, write = Signal(), Signal()
        word = Signal(self.WORD)
        issued_addr = Signal.like(addr)      # one register: the RAM has one port
        issued_read = Signal()
        arrived = Signal()                   # the word read is on the port
        m.d.sync += [issued_addr.eq(addr), w.data.eq(word), w.en.eq(write),
                     issued_read.eq(read), arrived.eq(issued_read)]
        # The read port's enable is 1 unless driven: reads happen only when
        # asked. It is never asked with a write; saying so lets Yosys make
        # the two ports the RAM's one.
        m.d.comb += [w.addr.eq(issued_addr), r.addr.eq(issued_addr),
                     r.en.eq(issued_read & ~w.en), self.stored.eq(r.data), self.word.eq(r.data)]

        def words(valid):
            bits = Cat(self.key.as_value(), Const(valid, 1))
            return [bits[k * self.WORD:(k + 1) * self.WORD] for k in range(K)]
        key_words, dead_words = words(1), words(0)

        held = Signal(self.entry_bits, reset_less=True)      # the entry under way
        target = Signal(self.entry_bits, reset_less=True)    # MOVE: where it goes
        beat = Signal(range(K + 2))          # LOOKUP: the next word to ask for
        seen = Signal(range(K + 1))          # the word arriving (LOOKUP) or written (WRITE)
        matched = Signal()                   # every word so far
        # LOOKUP: a word's compare, registered: from the SPRAM's port through
        # the 64-bit compare into the sequencer's choice of candidate was the
        # iCEBreaker's slowest path built for 30 MHz (29.92)
        same = Signal()
        compared = Signal()                  # ``same`` holds the last word's
        m.d.sync += compared.eq(0)

        def key_word(k):
            """Word ``k`` of the key (k a Signal): a multiplexer over the K words."""
            out = key_words[K - 1]
            for i in reversed(range(K - 1)):
                out = Mux(k == i, key_words[i], out)
            return out

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.lookup):
                    m.d.comb += [addr.eq(Cat(Const(0, B), self.id)), read.eq(1)]
                    m.d.sync += [held.eq(self.id), beat.eq(1), seen.eq(0), matched.eq(1)]
                    m.next = "LOOKUP"
                with m.Elif(self.write_key):
                    m.d.comb += [addr.eq(Cat(Const(0, B), self.id)), write.eq(1),
                                 word.eq(key_words[0])]
                    m.d.sync += [held.eq(self.id), seen.eq(1)]
                    m.next = "WRITE"
                with m.Elif(self.move):
                    m.d.sync += [held.eq(self.id), target.eq(self.to), seen.eq(0)]
                    m.next = "MOVE_READ"
                with m.Elif(self.write_value):
                    m.d.comb += [addr.eq(Cat(Const(K, B), self.id)), write.eq(1),
                                 word.eq(self.value)]
                with m.Elif(self.invalidate):
                    m.d.comb += [addr.eq(Cat(Const(K - 1, B), self.id)), write.eq(1),
                                 word.eq(dead_words[K - 1])]
                with m.Elif(self.fetch):
                    m.d.comb += [addr.eq(Cat(self.beat, self.id)), read.eq(1)]
            with m.State("LOOKUP"):
                # ask for the key's words and then the value's (which stays on
                # the port); compare each key word as it arrives, two clocks
                # on, and fold the registered verdict in a clock later
                m.d.comb += self.busy.eq(1)
                with m.If(beat <= K):
                    m.d.comb += [addr.eq(Cat(beat[:B], held)), read.eq(1)]
                    m.d.sync += beat.eq(beat + 1)
                with m.If(arrived & (seen != K)):
                    m.d.sync += [same.eq(r.data == key_word(seen)), compared.eq(1),
                                 seen.eq(seen + 1)]
                with m.If(compared):
                    m.d.sync += matched.eq(matched & same)
                    with m.If(seen == K):
                        m.d.comb += [self.done.eq(1), self.match.eq(matched & same)]
                        m.next = "IDLE"
            with m.State("WRITE"):
                m.d.comb += [self.busy.eq(1), addr.eq(Cat(seen[:B], held)), write.eq(1),
                             word.eq(key_word(seen))]
                m.d.sync += seen.eq(seen + 1)
                with m.If(seen == K - 1):
                    m.next = "IDLE"
            # MOVE: word ``seen`` read, then written where it goes as it arrives
            # (straight from the port into the write's data register)
            with m.State("MOVE_READ"):
                m.d.comb += [self.busy.eq(1), addr.eq(Cat(seen[:B], held)), read.eq(1)]
                m.next = "MOVE_WAIT"
            with m.State("MOVE_WAIT"):
                m.d.comb += self.busy.eq(1)
                m.next = "MOVE_WRITE"
            with m.State("MOVE_WRITE"):
                m.d.comb += [self.busy.eq(1), addr.eq(Cat(seen[:B], target)), write.eq(1),
                             word.eq(r.data)]
                m.d.sync += seen.eq(seen + 1)
                m.next = "MOVE_READ"
                with m.If(seen == K):
                    m.next = "IDLE"
        return m
