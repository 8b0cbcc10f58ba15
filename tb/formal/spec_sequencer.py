"""Sequencer (the iCE40 sentron): the handshake on ``o``; the table's contract.

A small configuration: 2 sets of 2 ways, 2-bit components (18-bit keys),
8-bit values. The forwarding of missed writes and the table's ports are the
same logic at any size.

The table's proofs give the sequencer its hash with the instruction, as an
array does (``hashed``), and take H3 for it: the contract holds for any
function of the key, and with the table hash's nonlinear round on every key
the spec compares, the induction step ran past its 10 minutes. The hash
unit itself is checked bit for bit in simulation
(tests/rtl/sentron/test_hash_unit.py).

The table's contract (``tb.formal.table_model``) is proved by k-induction.
For that the spec states what the pipeline holds at every clock, in terms
of the table's memory (read through ports of the spec's own):

* the memory never holds a key twice in a set (in any set, for any key),
  every entry is in the set its key hashes to, and it holds ``k`` exactly
  when the model says so, with the model's value;
* R3's per-way hit/free/value flags are the memory's row now, compared with
  R3's key (so nothing R3 decides misses a write), and R2's row with the
  write it missed (``late``) folded in is the memory's row now (except while
  a range instruction in R3 borrows the read port: it reads R2's row back
  before it ends), and that write is in the memory;
* each stage's set is its key's hash; the model's queue holds the
  instructions in R3, R2, R1 (oldest first) after the answer on ``o``.

These are facts about the design too: a forwarding bug breaks them.
"""

from amaranth.hdl import Assert, Assume, Cat, Const, Mux, Signal, Value
from amaranth.lib import data

from rtl.layouts import command_layout, coord_layout
from rtl.sentron.hash_unit import h3_hash
from rtl.sentron.execute import SENTRON_OPS, RANGE_OPS, goes_to_index, range_walk, scans
from rtl.sentron.sequencer import Sequencer
from rtl.sentron.table import fold_writes, missed_write_layout
from vtpu.hash import h3_rows
from vtpu.isa import DIMS, HASH_WIDTH, TABLE_SEED, Op, Status

from .common import Inside, Property, any_const, receiver, sender, stream_handshake
from .table_model import command_record, table_contract

SMALL = dict(sets=2, ways=2, width=2, value_width=8)
SET_BITS = SMALL["sets"].bit_length() - 1
POINT_OPS = frozenset({Op.CGET, Op.CPUT, Op.CDEL})


handshake = stream_handshake(lambda: Sequencer(**SMALL))


def set_of(m, coord):
    """The set ``coord`` hashes to: H3 with the golden model's rows (the hash
    the spec hands the sequencer)."""
    rows = h3_rows(TABLE_SEED, DIMS * SMALL["width"], HASH_WIDTH)
    return h3_hash(Value.cast(coord), rows)[:SET_BITS]


def same_key(entry, coord):
    return entry.valid & (Value.cast(entry.key) == Value.cast(coord))


def table(ops, ways=SMALL["ways"]):
    config = dict(SMALL, ways=ways)

    def build(m):
        dut = Sequencer(ops=ops, hashed=True, **config)
        inside = Inside(m, "dut", dut)
        sender(m, dut.i, "i")
        rows = h3_rows(TABLE_SEED, DIMS * SMALL["width"], HASH_WIDTH)
        m.d.comb += Assume(dut.i.payload.hash == h3_hash(Value.cast(dut.i.payload.coord), rows))
        receiver(m, dut.o, "o")
        key = Value.cast(any_const(m, coord_layout(SMALL["width"]), "key"))
        vw = SMALL["value_width"]
        model = table_contract(m, dut, key, in_flight=4, value_width=vw)

        # --- the pipeline's registers (unnamed ones found from named ones) ------
        v3 = inside.signal("v3")
        v2 = inside.source(v3)
        v1 = inside.source(v2)
        cmd = command_layout(SMALL["width"], SMALL["value_width"])
        c1 = inside.signal("c1")        # (it takes a slice of the hashed payload)
        c2 = inside.sink(c1)
        c3 = inside.sink(c2)
        c1, c2, c3 = cmd(c1), cmd(c2), cmd(c3)
        h3 = inside.source(inside.signal("table_w__addr")).value
        h2 = inside.source(h3)
        h1 = inside.source(h2)
        memory = inside.submodule("table")
        row_shape = memory.shape
        table_async = memory.read_ports[0]
        row2 = row_shape(inside.sink(table_async.data))     # the row R2 compares
        hit3, free3 = inside.signal("hit3"), inside.signal("free3")
        values3 = data.ArrayLayout(vw, ways)(inside.signal("values3"))
        late = missed_write_layout(ways, vw)(inside.signal("late"))

        # --- the memory, every row ----------------------------------------------
        rows = []
        for s in range(SMALL["sets"]):
            port = memory.read_port(domain="comb")
            m.d.comb += port.addr.eq(s)
            rows.append(Value.cast(port.data))

        def row_at(index):
            return row_shape(Mux(index, rows[1], rows[0]))      # 2 sets

        lanes = range(ways)
        for s in range(SMALL["sets"]):
            row = row_shape(rows[s])
            for w in lanes:
                m.d.comb += Assert(~row[w].valid | (set_of(m, row[w].key) == s),
                                   "an entry outside the set its key hashes to")
                for other in lanes[w + 1:]:
                    m.d.comb += Assert(~same_key(row[other], row[w].key),
                                       "a key held twice in a set")
        at_key = row_at(set_of(m, key))
        held = [same_key(at_key[w], key) for w in lanes]
        m.d.comb += Assert(model["present"] == Cat(*held).any(),
                           "the memory holds k and the model not, or the other way")
        for w in lanes:
            m.d.comb += Assert(~held[w] | (at_key[w].value == model["value"]),
                               "the memory holds another value for k than the model")

        # --- the pipeline against the memory --------------------------------------
        for c, h in ((c1, h1), (c2, h2), (c3, h3)):
            m.d.comb += Assert(h[:SET_BITS] == set_of(m, c.coord), "a stage's set is not its key's")
        row3 = row_at(h3[:SET_BITS])
        with m.If(v3):
            for w in lanes:
                m.d.comb += [
                    Assert(hit3[w] == same_key(row3[w], c3.coord), "R3's hit is not the memory's"),
                    Assert(free3[w] == ~row3[w].valid, "R3's free is not the memory's"),
                    Assert(~hit3[w] | (values3[w] == row3[w].value),
                           "R3's value is not the memory's"),
                ]
        now2 = row_at(h2[:SET_BITS])
        # R3's flags, decoded from R2 as it moves on, are R3's instruction's.
        ok3 = c3.error == Status.OK
        m.d.comb += Assert(inside.signal("scan3") == (ok3 & scans(c3, ops)), "R3's scan flag")
        borrowed = Const(0)
        if ops & RANGE_OPS:
            m.d.comb += Assert(inside.signal("range3") == (ok3 & goes_to_index(c3, ops)),
                               "R3's range flag")
            # A range instruction in R3 reads the table through R2's port while the
            # pipeline waits, and reads R2's row back as it ends (phase FINAL).
            phase = inside.signal("phase", within=range_walk)      # 2: FINAL
            borrowed = v3 & inside.signal("range3") & (phase != 2)
        for row, check, what in ((row2, v2 & ~borrowed, "R2's row and late write"),
                                 (now2, v2, "R2's late write is in the memory")):
            with m.If(check):
                for w in lanes:
                    hit, free, value = fold_writes(w, same_key(row[w], c2.coord), ~row[w].valid,
                                                   row[w].value, (late,))
                    m.d.comb += [
                        Assert(hit == same_key(now2[w], c2.coord), f"{what}: hit"),
                        Assert(free == ~now2[w].valid, f"{what}: free"),
                        Assert(~hit | (value == now2[w].value), f"{what}: value"),
                    ]

        if ways == 1:
            # One way: the table's memory is told a read colliding with a write
            # may return anything (``no_rw_check``), since the compare folds that
            # write over it. Formally the read returns the old row; so check
            # the claim: a row read as it was written is all covered by ``late``.
            # (Point instructions only: the read port's enable is ``advance``.)
            assert not ops & RANGE_OPS
            read, write = memory.read_ports[0], memory.write_ports[0]
            collided = Signal()
            with m.If(dut.i.ready):
                m.d.sync += collided.eq(write.en.any() & (write.addr == read.addr))
            with m.If(v2 & collided):
                m.d.comb += Assert(late.ways.all(), "a row read as it was written is used")

        # --- the model's queue: the answer on o, then R3, R2, R1 --------------------
        final, queue = model["final"], model["queue"]
        m.d.comb += Assert(model["count"] == v1 + v2 + v3 + final,
                           "the model's count is not what the pipeline holds")
        position = final
        for n, (v, c) in enumerate(((v3, c3), (v2, c2), (v1, c1))):
            record = command_record(m, c, key, vw, f"record{3 - n}")
            with m.If(v):
                for p, entry in enumerate(queue):
                    with m.If(position == p):
                        m.d.comb += Assert(Value.cast(entry) == Value.cast(record),
                                           "the model's queue is not the pipeline")
            position = position + v
    return build


PROPERTIES = [
    Property("sequencer_handshake", handshake, "prove", 3,
             "Sequencer.o follows the stream rules when i does (every opcode)"),
    Property("sequencer_table", table(POINT_OPS), "prove", 3,
             "Sequencer (CGET/CPUT/CDEL): every answer on a key k is the one-key model's"),
    Property("sequencer_table_one_way", table(POINT_OPS, ways=1), "prove", 3,
             "Sequencer, one way as the boards build it (CGET/CPUT/CDEL): the model's "
             "answers; a row read as it is written is never used"),
    Property("sequencer_table_all_ops", table(SENTRON_OPS), "prove", 3,
             "Sequencer (every opcode): every answer on a key k is the one-key model's"),
]
