"""Z-order index: the table's keys in a crit-bit tree over their Morton bits.

The hash table answers point instructions but scatters a box over every set;
CRANGE, CDIGEST and CHIER DOWN need the keys in Z-order. This block keeps a
second view of the same keys: a binary crit-bit (PATRICIA) tree whose internal
nodes split on one interleaved bit, named by ``(level, dim)`` (bit ``level`` of
component ``dim``; Morton position ``level*DIMS + DIMS-1-dim``), and whose leaves
are table slots. An in-order walk of the tree is ascending Z-order.

A range query is a depth-first walk that prunes every subtree whose region
misses the box: the keys below a node share all Morton bits above its split,
so each child covers one aligned interval per component, read from any key
below it (the node's *representative* leaf). Pruning a subtree is what
Tropf and Herzog's BIGMIN does to a Z-ordered list -- jump past the Z-values
that lie outside the box -- so a query visits the results, the nodes above
them and the boundary of the box, and its cost grows with the tree's depth
(log2 of the keys, for keys that differ in their high bits) plus the result
count, not with the table size.

Updates (insert a key at a slot, delete the key at a slot) arrive from the
sequencer as it commits CPUTs of new keys and CDELs that hit; they queue in a
FIFO and the index applies them in order, one walk each (an insert walks down
to the closest leaf, to learn the crit bit, then backs up its path to where
the new node goes; a delete walks down keeping parent and grandparent). The
sequencer keeps answering point instructions at one per clock while the queue
has room; a query is served only when the queue is empty, so it sees every
earlier write.

Memories (``P`` = slot bits): ``nodes`` (split and two child references per
internal node), ``reps`` (each node's representative slot), ``keys`` (a copy of
each slot's key, written when the index links the slot: the table itself may
already hold a later key there), ``creators`` (which node names a slot as its
representative) and ``free`` (a stack of released node numbers).

Representatives stay valid across deletes without walking the tree again:
the node created when slot ``s`` was linked has ``s`` as its representative
and is an ancestor of ``s``; when ``s`` is unlinked its parent ``p`` goes away,
and if ``s`` represented some other surviving node, that node takes over
``p``'s representative (which lies below it).

Memories besides: ``path`` (an insert's walk down) and ``stack`` (a query's
pending right children), each at most one entry per split level.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vtpu.isa import COORD_WIDTH, DIMS

from ..layouts import coord_layout
from .zorder import in_box

__all__ = ["ZIndex", "update_layout", "query_layout", "hit_layout", "highest_one"]


def update_layout(width, slot_bits):
    return data.StructLayout({"delete": 1, "key": coord_layout(width), "slot": slot_bits})


def query_layout(width):
    """The box, wildcards already widened to the full range."""
    return data.StructLayout({"lo": coord_layout(width), "hi": coord_layout(width)})


def hit_layout(slot_bits):
    """A slot inside the box, or (``end``) the end of the answer."""
    return data.StructLayout({"end": 1, "slot": slot_bits})


def highest_one(bits):
    """(any, index of the highest set bit) of a list of 1-bit values, as a tree."""
    size = 1
    while size < len(bits):
        size *= 2
    bits = list(bits) + [Const(0, 1)] * (size - len(bits))

    def tree(part):
        if len(part) == 1:
            return part[0], Const(0, 0)
        half = len(part) // 2
        lo_any, lo_index = tree(part[:half])
        hi_any, hi_index = tree(part[half:])
        return lo_any | hi_any, Cat(Mux(hi_any, hi_index, lo_index), hi_any)
    return tree(bits)


class ZIndex(wiring.Component):
    # The queue lets bursts of new keys in at one per clock (the index links one
    # per ~12 clocks at a few hundred keys): 256 entries of 161 bits, one
    # 4-kbit BRAM column per 16 bits on iCE40, 5 DP16KDs on ECP5.
    # ``crowded`` rises while fewer than this many queue entries are free, early
    # enough for a pipeline that cannot wait (``PipelinedSequencer``) to stop
    # taking CPUTs and CDELs with its few in flight still room to land: in an
    # array up to ten (the queue's level is a clock late, the sentron's ready
    # another, the dispatcher reads it a clock late and its link adds one, and
    # five stages), and two to spare.
    ROOM = 12

    def __init__(self, *, slots, width=COORD_WIDTH, queue=256):
        assert slots >= 2 and slots & (slots - 1) == 0, "slots must be a power of two >= 2"
        assert queue > self.ROOM
        self.slots, self.width, self.queue = slots, width, queue
        self.slot_bits = slots.bit_length() - 1
        super().__init__({
            "update": In(stream.Signature(update_layout(width, self.slot_bits))),
            "query":  In(stream.Signature(query_layout(width))),
            "hits":   Out(stream.Signature(hit_layout(self.slot_bits))),
            # No update queued or being applied: the index matches the table.
            "idle":   Out(1),
            # Fewer than ``ROOM`` queue entries free.
            "crowded": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        W, P = self.width, self.slot_bits
        ref = data.StructLayout({"leaf": 1, "ptr": P})
        split = data.StructLayout({"level": range(W), "dim": range(DIMS)})
        node_shape = data.StructLayout({"split": split, "child": data.ArrayLayout(ref, 2)})
        creator_shape = data.StructLayout({"has": 1, "node": P})

        m.submodules.nodes = nodes = Memory(shape=node_shape, depth=self.slots, init=[])
        m.submodules.reps = reps = Memory(shape=P, depth=self.slots, init=[])
        m.submodules.keys = keys = Memory(shape=coord_layout(W), depth=self.slots, init=[])
        m.submodules.creators = creators = Memory(shape=creator_shape, depth=self.slots, init=[])
        m.submodules.free = free = Memory(shape=P, depth=self.slots, init=[])
        # A walk pushes at most one pending child per split level above the leaf.
        m.submodules.stack = stack = Memory(shape=ref, depth=DIMS * W + 1, init=[])
        nodes_w, reps_w, keys_w = nodes.write_port(), reps.write_port(), keys.write_port()
        creators_w, free_w, stack_w = creators.write_port(), free.write_port(), stack.write_port()
        # An insert's walk down, kept to find where the new node goes.
        m.submodules.path = path = Memory(
            shape=data.StructLayout({"ptr": P, "node": node_shape, "dir": 1}),
            depth=DIMS * W + 1, init=[])
        path_w, path_r = path.write_port(), path.read_port()
        nodes_r, reps_r, keys_r = nodes.read_port(), reps.read_port(), keys.read_port()
        creators_r = creators.read_port()
        free_r = free.read_port(transparent_for=(free_w,))
        stack_r = stack.read_port()
        # Reads happen only where a state asks for one, so the data holds otherwise.
        m.d.comb += [nodes_r.en.eq(0), reps_r.en.eq(0), keys_r.en.eq(0), stack_r.en.eq(0),
                     path_r.en.eq(0)]

        def read_node(r):
            m.d.comb += [nodes_r.addr.eq(r), reps_r.addr.eq(r), nodes_r.en.eq(1), reps_r.en.eq(1)]

        def read_key(slot):
            m.d.comb += [keys_r.addr.eq(slot), keys_r.en.eq(1)]

        def bit_of(key, at):
            """The key's bit at a split: bit ``level`` of component ``dim``."""
            return Cat(*(key[i].bit_select(at.level, 1) for i in range(DIMS))).bit_select(at.dim, 1)

        def position(at):
            return at.level * DIMS + (DIMS - 1 - at.dim)

        root = Signal(data.StructLayout({"empty": 1, "leaf": 1, "ptr": P}), init={"empty": 1})
        fresh = Signal(range(self.slots + 1))      # nodes never used yet: fresh .. slots-1
        free_sp = Signal(range(self.slots + 1))    # released nodes: free[0 .. free_sp-1]
        m.d.comb += free_r.addr.eq(free_sp - 1)

        # A block-RAM queue; ``level`` counts an entry from the clock after its
        # write (``r_rdy`` a clock later), so a query waits for ``level == 0``.
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=len(self.update.payload.as_value()),
                                                    depth=self.queue)
        m.d.comb += [fifo.w_data.eq(self.update.payload.as_value()), fifo.w_en.eq(self.update.valid),
                     self.update.ready.eq(fifo.w_rdy)]
        m.d.sync += self.crowded.eq(fifo.level > self.queue - self.ROOM)
        op = Signal(update_layout(W, P))
        m.d.comb += creators_r.addr.eq(op.slot)

        cur = Signal(ref)                # the node or leaf being looked at
        crit = Signal(split)             # insert: where the new key leaves the tree
        new_dir = Signal()               # insert: the new key's bit at ``crit``
        have_p, p_ptr, p_node, p_dir, p_rep = Signal(), Signal(P), Signal(node_shape), Signal(), Signal(P)
        have_g, g_ptr, g_node, g_dir = Signal(), Signal(P), Signal(node_shape), Signal()
        new_node = Signal(P)
        q_node = Signal(node_shape)
        sp = Signal(range(DIMS * W + 2))

        # (Shared terms are named signals: Amaranth's simulator inlines an
        # expression at every use, and these feed many.)
        # --- the crit bit of the new key against the closest leaf's key ----------
        leaf_key = keys_r.data
        diff = [Signal(W, name=f"diff{i}") for i in range(DIMS)]
        m.d.comb += [d.eq(Value.cast(op.key[i]) ^ Value.cast(leaf_key[i])) for i, d in enumerate(diff)]
        level_bits = Signal(W)
        m.d.comb += [level_bits[b].eq(Cat(*(d[b] for d in diff)).any()) for b in range(W)]
        diff_level, diff_dims = Signal(range(W)), Signal(DIMS)
        m.d.comb += [diff_level.eq(highest_one(list(level_bits))[1]),
                     diff_dims.eq(Cat(*(d.bit_select(diff_level, 1) for d in diff)))]
        diff_dim = Const(0, range(DIMS))
        for i in reversed(range(DIMS)):              # the lowest-numbered dim is more significant
            diff_dim = Mux(diff_dims[i], i, diff_dim)
        # the key's bit at the split of the node on the read port
        key_turn = Signal()
        m.d.comb += key_turn.eq(bit_of(op.key, nodes_r.data.split))

        # --- which children of the node in q_node can hold keys inside the box ---
        lo, hi = self.query.payload.lo, self.query.payload.hi
        rep_key = keys_r.data
        at = q_node.split
        below = Signal(W)               # the bits under the split's level
        m.d.comb += below.eq(((Const(1, W + 1) << at.level) - 1)[:W])
        fits = [Signal(DIMS, name="fits0"), Signal(DIMS, name="fits1")]
        for i in range(DIMS):
            r = Value.cast(rep_key[i])
            # free below the split: the split's level and under for components
            # after the split's, under it for the split's component and those before
            mask = Signal(W, name=f"free{i}")
            m.d.comb += mask.eq(Mux(at.dim < i, (below << 1) | 1, below))
            for child in (0, 1):
                base = Signal(W, name=f"base{i}_{child}")
                with m.If(at.dim == i):
                    m.d.comb += base.eq((r & ~((below << 1) | 1)[:W]) | (Const(child, W) << at.level)[:W])
                with m.Else():
                    m.d.comb += base.eq(r & ~mask)
                m.d.comb += fits[child][i].eq((base <= hi[i]) & ((base | mask) >= lo[i]))
        reach = [fits[0].all(), fits[1].all()]

        hits = self.hits

        def descend(r, at_leaf, at_node):
            """Look at a node or leaf next (``cur``): its read is issued now."""
            m.d.sync += [cur.leaf.eq(r.leaf), cur.ptr.eq(r.ptr)]
            with m.If(r.leaf):
                read_key(r.ptr)
                m.next = at_leaf
            with m.Else():
                read_node(r.ptr)
                m.next = at_node

        def visit(r):
            descend(r, "Q_LEAF", "Q_NODE")

        def pop_from(port, at_bottom, then):
            """Read the top of a stack memory (``sp`` entries) and go to ``then``;
            ``at_bottom`` when it is empty."""
            with m.If(sp == 0):
                m.next = at_bottom
            with m.Else():
                m.d.comb += [port.addr.eq(sp - 1), port.en.eq(1)]
                m.d.sync += sp.eq(sp - 1)
                m.next = then

        def pop():
            """Continue with the last pending right child, or end the answer."""
            pop_from(stack_r, "Q_END", "Q_POPPED")
        m.d.comb += self.idle.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.idle.eq(fifo.level == 0)
                with m.If(fifo.r_rdy):
                    m.d.comb += fifo.r_en.eq(1)
                    m.d.sync += op.eq(fifo.r_data)
                    m.next = "UPDATE"
                with m.Elif(self.query.valid & (fifo.level == 0)):
                    m.d.sync += sp.eq(0)
                    with m.If(root.empty):
                        m.next = "Q_END"
                    with m.Else():
                        visit(root)

            # --- updates -----------------------------------------------------------
            with m.State("UPDATE"):
                m.d.sync += [have_p.eq(0), have_g.eq(0), cur.leaf.eq(root.leaf),
                             cur.ptr.eq(root.ptr), sp.eq(0)]
                with m.If(~op.delete):
                    with m.If(root.empty):
                        m.d.sync += [root.empty.eq(0), root.leaf.eq(1), root.ptr.eq(op.slot)]
                        m.d.comb += [keys_w.addr.eq(op.slot), keys_w.data.eq(op.key), keys_w.en.eq(1),
                                     creators_w.addr.eq(op.slot), creators_w.data.has.eq(0),
                                     creators_w.en.eq(1)]
                        m.next = "IDLE"
                    with m.Else():
                        descend(root, "I_CRIT", "I_FIND")
                with m.Else():
                    with m.If(root.leaf):       # the only key
                        m.d.sync += root.empty.eq(1)
                        m.next = "IDLE"
                    with m.Else():
                        read_node(root.ptr)
                        m.next = "D_WALK"

            with m.State("I_FIND"):              # down to the leaf closest to the key
                d = nodes_r.data
                nxt = d.child[key_turn]
                m.d.comb += [path_w.addr.eq(sp), path_w.en.eq(1), path_w.data.ptr.eq(cur.ptr),
                             path_w.data.node.eq(d), path_w.data.dir.eq(key_turn)]
                m.d.sync += sp.eq(sp + 1)
                descend(nxt, "I_CRIT", "I_FIND")

            with m.State("I_CRIT"):
                crit_now = Signal(split)
                m.d.comb += [crit_now.level.eq(diff_level), crit_now.dim.eq(diff_dim)]
                m.d.sync += [crit.eq(crit_now), new_dir.eq(bit_of(op.key, crit_now))]
                pop_from(path_r, "I_LINK", "I_BACK")

            # The new node goes on the path just walked, below the last node that
            # splits above crit: back up from the leaf (for keys that differ in
            # their high bits, a step or two) instead of walking down again.
            with m.State("I_BACK"):
                e = path_r.data
                with m.If(position(e.node.split) < position(crit)):
                    m.d.sync += [cur.leaf.eq(0), cur.ptr.eq(e.ptr)]
                    pop_from(path_r, "I_LINK", "I_BACK")
                with m.Else():
                    m.d.sync += [have_p.eq(1), p_ptr.eq(e.ptr), p_node.eq(e.node), p_dir.eq(e.dir)]
                    m.next = "I_LINK"

            with m.State("I_LINK"):              # a new node: crit, the new leaf, cur
                n = Signal(P)
                m.d.comb += n.eq(Mux(free_sp != 0, free_r.data, fresh))
                with m.If(free_sp != 0):
                    m.d.sync += free_sp.eq(free_sp - 1)
                with m.Else():
                    m.d.sync += fresh.eq(fresh + 1)
                leaf = Signal(ref)
                m.d.comb += [leaf.leaf.eq(1), leaf.ptr.eq(op.slot)]
                m.d.comb += [nodes_w.addr.eq(n), nodes_w.en.eq(1),
                             nodes_w.data.split.eq(crit),
                             nodes_w.data.child[0].eq(Mux(new_dir, cur, leaf)),
                             nodes_w.data.child[1].eq(Mux(new_dir, leaf, cur)),
                             reps_w.addr.eq(n), reps_w.data.eq(op.slot), reps_w.en.eq(1),
                             keys_w.addr.eq(op.slot), keys_w.data.eq(op.key), keys_w.en.eq(1),
                             creators_w.addr.eq(op.slot), creators_w.data.has.eq(1),
                             creators_w.data.node.eq(n), creators_w.en.eq(1)]
                m.d.sync += new_node.eq(n)
                m.next = "I_PARENT"

            with m.State("I_PARENT"):
                with m.If(have_p):
                    m.d.comb += [nodes_w.addr.eq(p_ptr), nodes_w.en.eq(1),
                                 nodes_w.data.eq(p_node),
                                 nodes_w.data.child[p_dir].leaf.eq(0),
                                 nodes_w.data.child[p_dir].ptr.eq(new_node)]
                with m.Else():
                    m.d.sync += [root.leaf.eq(0), root.ptr.eq(new_node)]
                m.next = "IDLE"

            with m.State("D_WALK"):              # down to the slot, keeping parent and grandparent
                d = nodes_r.data
                go = key_turn
                nxt = d.child[go]
                m.d.sync += [have_g.eq(have_p), g_ptr.eq(p_ptr), g_node.eq(p_node), g_dir.eq(p_dir),
                             have_p.eq(1), p_ptr.eq(cur.ptr), p_node.eq(d), p_dir.eq(go),
                             p_rep.eq(reps_r.data), cur.eq(nxt)]
                with m.If(nxt.leaf):
                    m.next = "D_UNLINK"
                with m.Else():
                    read_node(nxt.ptr)

            with m.State("D_UNLINK"):            # the sibling takes the parent's place
                sibling = p_node.child[~p_dir]
                with m.If(have_g):
                    m.d.comb += [nodes_w.addr.eq(g_ptr), nodes_w.en.eq(1), nodes_w.data.eq(g_node),
                                 nodes_w.data.child[g_dir].eq(sibling)]
                with m.Else():
                    m.d.sync += [root.leaf.eq(sibling.leaf), root.ptr.eq(sibling.ptr)]
                m.d.comb += [free_w.addr.eq(free_sp), free_w.data.eq(p_ptr), free_w.en.eq(1)]
                m.d.sync += free_sp.eq(free_sp + 1)
                creator = creators_r.data
                with m.If(creator.has & (creator.node != p_ptr)):
                    # the node the slot represented takes over the parent's representative
                    m.d.comb += [reps_w.addr.eq(creator.node), reps_w.data.eq(p_rep), reps_w.en.eq(1),
                                 creators_w.addr.eq(p_rep), creators_w.data.has.eq(1),
                                 creators_w.data.node.eq(creator.node), creators_w.en.eq(1)]
                with m.Elif(~creator.has):
                    m.d.comb += [creators_w.addr.eq(p_rep), creators_w.data.has.eq(0),
                                 creators_w.en.eq(1)]
                m.next = "IDLE"

            # --- queries: depth first, smaller Z first, pruned by the box ------------
            with m.State("Q_NODE"):
                m.d.sync += q_node.eq(nodes_r.data)
                read_key(reps_r.data)
                m.next = "Q_REP"

            with m.State("Q_REP"):
                with m.If(reach[0] & reach[1]):
                    m.d.comb += [stack_w.addr.eq(sp), stack_w.data.eq(q_node.child[1]),
                                 stack_w.en.eq(1)]
                    m.d.sync += sp.eq(sp + 1)
                    visit(q_node.child[0])
                with m.Elif(reach[0] | reach[1]):
                    visit(q_node.child[reach[1]])
                with m.Else():
                    pop()

            with m.State("Q_LEAF"):
                with m.If(in_box(keys_r.data, lo, hi)):
                    m.d.comb += [hits.valid.eq(1), hits.payload.slot.eq(cur.ptr)]
                    with m.If(hits.ready):
                        pop()
                with m.Else():
                    pop()

            with m.State("Q_POPPED"):
                visit(stack_r.data)

            with m.State("Q_END"):
                m.d.comb += [hits.valid.eq(1), hits.payload.end.eq(1)]
                with m.If(hits.ready):
                    m.d.comb += self.query.ready.eq(1)
                    m.next = "IDLE"
        return m
