"""ZIndex (the Z-order index): the handshake on ``hits``, given it on
``update`` and ``query``; it answers only a query that is offered; an
insert's parent write, due the clock after its new node, never meets
another node write.

Small: 4 slots, 2-bit components, a queue of 16 (the fewest above ``ROOM``;
in LUT RAM) and one of ``2 * LUT_QUEUE`` (block RAM).
"""

from amaranth.hdl import Assert, Cat

from rtl.sentron.zindex import ZIndex

from .common import Inside, Property, receiver, sender

QUERY_STATES = ("Q_NODE", "Q_REP", "Q_INSIDE", "Q_LEAF", "Q_HIT", "Q_END")


def handshake(m, queue=16):
    dut = ZIndex(slots=4, width=2, queue=queue)
    inside = Inside(m, "dut", dut)
    sender(m, dut.update, "update")
    sender(m, dut.query, "query")
    receiver(m, dut.hits, "hits")
    with m.If(dut.hits.valid):
        m.d.comb += Assert(dut.query.valid, "a hit with no query offered")
    # Strengthening: a query's walk starts only on an offered query, which its
    # sender holds until the walk ends (Q_END takes it), and hits wait in
    # the walk's FIFO only during a walk.
    # An insert's parent is written the clock after its new node, by no state:
    # that clock's state writes no node itself.
    with m.If(inside.signal("parent_due")):
        m.d.comb += Assert(Cat(*(inside.state(name) for name in ("IDLE", "I_FIND", "D_WALK"))).any(),
                           "a parent's write falls in a clock that writes a node")
    walking = Cat(*(inside.state(name) for name in QUERY_STATES)).any()
    with m.If(walking):
        m.d.comb += Assert(dut.query.valid, "walking with no query offered")
    with m.Else():
        m.d.comb += Assert(inside.submodule("out").level == 0, "hits left over from a walk")


PROPERTIES = [
    Property("zindex_handshake", handshake, "prove", 3,
             "ZIndex.hits follows the stream rules when update and query do, and "
             "answers only an offered query; an insert's parent write meets no other "
             "node write (its queue in LUT RAM)"),
    Property("zindex_block_queue_handshake",
             lambda m: handshake(m, queue=2 * ZIndex.LUT_QUEUE), "prove", 3,
             "the same with the block-RAM queue (``SyncFIFOBuffered``)"),
]
