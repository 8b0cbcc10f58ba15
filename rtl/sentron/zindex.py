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
the new node goes; a delete walks down keeping parent and grandparent). An
insert costs the levels it walks plus one clock. Most new nodes go right
above the closest leaf, whose parent the walk kept in a register: the new
node is written in the clock the leaf's key arrives (its crit bit worked out
on the way into the write; where it goes, from the key's differences masked
with the positions above the leaf's parent, so that the next update's start
does not wait for crit) and the parent the clock after; the next
update's walk starts with the new node's write (its first read must not be
of the parent; node reads are transparent for the write port, so its
second sees the parent's write).
An insert that must add components to ``varies`` above the parent, or that
makes a new root, writes the parent in a clock of its own. The
sequencer keeps answering point instructions at one per clock while the queue
has room; a query is served only when the queue is empty, so it sees every
earlier write.

An insert's walk starts where the **directory** says, not at the root. Its
entry for a key is the deepest node whose subtree held every stored key
sharing the key's ``directory_bits`` Morton bits from the root's split down
(the *window*), as the last insert with those bits found it. The walk from
that node follows the same splits a walk from the root would after it, so
for random keys it is a level or three deep instead of ``log2`` of the keys.
An entry is a hint and is checked: the node must still be in the tree
(``live``), and once the walk has found the key's crit bit, the key must
belong below the node (crit under its split) and differ from its keys only
in components the node already ``varies`` in (so no ancestor above it
changes); otherwise the insert walks again from the root. The tree is the
same either way. Where no key has yet had the key's window bits, a second,
coarser directory (``COARSER`` bits fewer) gives the hint. Both are read for
the queue's head while the update before it runs, so a hint costs no clock
of its own: for random keys an insert takes about four clocks at any size
(three levels walked, then the crit bit and the new node).

Memories (``P`` = slot bits): ``nodes`` (split, two child references and
``varies`` per internal node), ``reps`` (each node's representative slot), ``keys`` (a copy of
each slot's key, written when the index links the slot: the table itself may
already hold a later key there), ``creators`` (which node names a slot as its
representative), ``free`` (a stack of released node numbers), ``live`` (a
bit a node: in the tree) and the directories (``2**directory_bits`` node
numbers, and ``2**(directory_bits - COARSER)``).

With ``shared_keys`` there is no ``keys`` copy: the index reads each slot's
key through its ``keys`` port (``addr`` and ``en`` out, ``data`` in a clock
later) from a read port of the entry store, and owns no key bits at all (on
the ECP5 16 DP16KDs a 2048-slot index). Whoever writes that store must then
keep a slot's key as the index linked it until the index has applied the
slot's delete: a freed entry is not reused while ``idle`` is low
(``CuckooSequencer``).

Representatives stay valid across deletes without walking the tree again:
the node created when slot ``s`` was linked has ``s`` as its representative
and is an ancestor of ``s``; when ``s`` is unlinked its parent ``p`` goes away,
and if ``s`` represented some other surviving node, that node takes over
``p``'s representative (which lies below it).

Memories besides: ``path`` (an insert's walk down) and ``stack`` (a query's
pending right children), each at most one entry per split level.

``varies`` names the components in which keys below a node may differ: in
the others every key equals the representative, so a child's region is that
one value there, not an aligned interval (a box that fixes a component, as
most patterns do, otherwise contains no subtree above the leaves). An insert
adds the components the new key differs in to the new node's parent and up
the path while an ancestor lacks one; a delete leaves them (a superset only
costs pruning).

A subtree whose whole region lies inside the box needs neither its
representative nor its keys: every leaf below it is a hit. The walk marks such
a subtree *inside* and runs through it one internal node a clock, answering
its leaf children without reading them; a leaf child kept for later rides on
the stack's top entry (``pre``) when that has room. The top of the stack is a
register, so a pop costs no clock of its own. Hits leave through a short
FIFO of entries of up to three, read out one hit a clock (the end follows
once it is empty); inside a box the
walk outruns that, and a query answers its keys at one a clock.
"""

from types import SimpleNamespace

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO, SyncFIFOBuffered
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
    # per ~6 clocks with its directory): 256 entries of 161 bits, one
    # 4-kbit BRAM column per 16 bits on iCE40, 5 DP16KDs on ECP5.
    # ``crowded`` rises while fewer than this many queue entries are free, early
    # enough for a pipeline that cannot wait (``PipelinedSequencer``) to stop
    # taking CPUTs and CDELs with its few in flight still room to land: in an
    # array up to ten (the queue's level is a clock late, the sentron's ready
    # another, the dispatcher reads it a clock late and its link adds one, and
    # five stages), and two to spare.
    ROOM = 12
    # The queue a build has unless it says otherwise (``queue``).
    QUEUE = 256
    # A queue this short or shorter sits in LUT RAM (``SyncFIFO``), as do the
    # path and the stack: for a board whose block RAMs the tables fill.
    LUT_QUEUE = 64
    # The coarser directory's bits: fewer than the first's by this.
    COARSER = 3

    def __init__(self, *, slots, width=COORD_WIDTH, queue=QUEUE, shared_keys=False,
                 serial_regions=False, directory_bits=None):
        assert slots >= 2 and slots & (slots - 1) == 0, "slots must be a power of two >= 2"
        assert queue > self.ROOM
        self.slots, self.width, self.queue = slots, width, queue
        self.slot_bits = slots.bit_length() - 1
        self.shared_keys = shared_keys
        # the children's region tests a component a clock (``DIMS`` clocks a
        # node on the box's edge instead of one): about a ninth of their
        # logic, which is half the index's
        self.serial_regions = serial_regions
        # the directory of walk starts: one entry per two slots (None), or none (0)
        self.directory_bits = max(1, self.slot_bits - 1) if directory_bits is None \
            else directory_bits
        keys = {"keys": Out(wiring.Signature({"addr": Out(self.slot_bits), "en": Out(1),
                                               "data": In(coord_layout(width))}))} \
            if shared_keys else {}
        super().__init__({
            **keys,
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
        # ``varies``: the components in which keys below the node may differ
        # (a superset: a delete leaves it as it was); in the others every key
        # below equals the representative.
        node_shape = data.StructLayout({"split": split, "child": data.ArrayLayout(ref, 2),
                                        "varies": DIMS})
        creator_shape = data.StructLayout({"has": 1, "node": P})

        m.submodules.nodes = nodes = Memory(shape=node_shape, depth=self.slots, init=[])
        m.submodules.reps = reps = Memory(shape=P, depth=self.slots, init=[])
        if not self.shared_keys:
            m.submodules.keys = keys = Memory(shape=coord_layout(W), depth=self.slots, init=[])
        m.submodules.creators = creators = Memory(shape=creator_shape, depth=self.slots, init=[])
        m.submodules.free = free = Memory(shape=P, depth=self.slots, init=[])
        # A walk's pending child (``inside`` when its region lies inside the
        # box), and before it (``pre``) maybe a leaf inside the box to answer.
        pending = data.StructLayout({"pre": 1, "pre_ptr": P, "leaf": 1, "ptr": P, "inside": 1})
        # A walk pushes at most one pending child per split level above the leaf;
        # the top one is a register (``top``), the rest are here.
        small = {"ram_style": "distributed"} if self.queue <= self.LUT_QUEUE else {}
        m.submodules.stack = stack = Memory(shape=pending, depth=DIMS * W + 1, init=[], attrs=small)
        nodes_w, reps_w = nodes.write_port(), reps.write_port()
        if self.shared_keys:
            # the store's writer wrote the key already; these go nowhere
            keys_w = SimpleNamespace(addr=Signal(P), data=Signal(coord_layout(W)), en=Signal())
            keys_r = self.keys
        else:
            keys_w, keys_r = keys.write_port(), keys.read_port()
        creators_w, free_w, stack_w = creators.write_port(), free.write_port(), stack.write_port()
        # An insert's walk down, kept to find where the new node goes.
        path_entry = data.StructLayout({"ptr": P, "node": node_shape, "dir": 1})
        m.submodules.path = path = Memory(shape=path_entry, depth=DIMS * W + 1, init=[], attrs=small)
        path_w, path_r = path.write_port(), path.read_port()
        # transparent: a walk's read in the clock its node is written sees the
        # write (an insert's parent is written the clock after the new node,
        # while the next update's walk reads; on the ECP5 this is a register
        # and a mux after the block RAM)
        nodes_r, reps_r = nodes.read_port(transparent_for=(nodes_w,)), reps.read_port()
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

        root_shape = data.StructLayout({"empty": 1, "leaf": 1, "ptr": P})
        root = Signal(root_shape, init={"empty": 1})
        fresh = Signal(range(self.slots + 1))      # nodes never used yet: fresh .. slots-1
        free_sp = Signal(range(self.slots + 1))    # released nodes: free[0 .. free_sp-1]
        m.d.comb += free_r.addr.eq(free_sp - 1)

        # A block-RAM queue (or a short one in LUT RAM); a query waits for
        # ``level == 0``, which counts an entry from the clock after its write.
        fifo_type = SyncFIFO if self.queue <= self.LUT_QUEUE else SyncFIFOBuffered
        m.submodules.fifo = fifo = fifo_type(width=len(self.update.payload.as_value()),
                                             depth=self.queue)
        m.d.comb += [fifo.w_data.eq(self.update.payload.as_value()), fifo.w_en.eq(self.update.valid),
                     self.update.ready.eq(fifo.w_rdy)]
        m.d.sync += self.crowded.eq(fifo.level > self.queue - self.ROOM)
        op = Signal(update_layout(W, P))
        m.d.comb += creators_r.addr.eq(op.slot)

        cur = Signal(ref)                # the node or leaf being looked at
        last = Signal(path_entry)        # insert: the path's last entry (the leaf's parent)
        crit = Signal(split)             # insert: where the new key leaves the tree
        new_dir = Signal()               # insert: the new key's bit at ``crit``
        have_p, p_ptr, p_node, p_dir, p_rep = Signal(), Signal(P), Signal(node_shape), Signal(), Signal(P)
        have_g, g_ptr, g_node, g_dir = Signal(), Signal(P), Signal(node_shape), Signal()
        new_node = Signal(P)
        cur_varies = Signal(DIMS)        # insert: ``varies`` of the subtree the new node takes in
        new_varies = Signal(DIMS)        # insert: where the new key differs from the closest leaf
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
        # the same differences in Morton order (bit q: Morton position q), and
        # the positions above a split's as a mask: an insert's placement is
        # decided by masking them, not by comparing crit (which is some ten
        # LUT levels after the key's read) with each split
        diff_m = Signal(DIMS * W)
        m.d.comb += diff_m.eq(Cat(*(diff[DIMS - 1 - q % DIMS][q // DIMS] for q in range(DIMS * W))))

        def above(at, name):
            """Bit q: Morton position q is above split ``at``'s."""
            mask = Signal(DIMS * W, name=name)
            under = Signal(W, name=f"{name}_under")     # level l: the split's level is under l
            at_level = Signal(W, name=f"{name}_at")     # level l: the split's level is l
            after = Signal(DIMS, name=f"{name}_after")  # r: dim ``DIMS-1-r`` comes after the split's
            m.d.comb += [under[l].eq(at.level < l) for l in range(W)]
            m.d.comb += [at_level[l].eq(at.level == l) for l in range(W)]
            m.d.comb += [after[r].eq(at.dim > DIMS - 1 - r) for r in range(DIMS)]
            m.d.comb += [mask[q].eq(under[q // DIMS] | at_level[q // DIMS] & after[q % DIMS])
                         for q in range(DIMS * W)]
            return mask

        # the key's bit at the split of the node on the read port
        key_turn = Signal()
        m.d.comb += key_turn.eq(bit_of(op.key, nodes_r.data.split))

        # --- which children of the node in q_node can hold keys inside the box ---
        lo, hi = self.query.payload.lo, self.query.payload.hi
        rep_key = keys_r.data
        at = q_node.split
        below = Signal(W)               # the bits under the split's level
        m.d.comb += below.eq(((Const(1, W + 1) << at.level) - 1)[:W])
        # the components tested this clock: all of them, or (``serial_regions``)
        # component ``turn``, the ones before it already folded into ``so_far``
        tested = 1 if self.serial_regions else DIMS
        turn = Signal(range(DIMS))
        fits = [Signal(tested, name="fits0"), Signal(tested, name="fits1")]
        within = [Signal(tested, name="within0"), Signal(tested, name="within1")]
        for t in range(tested):
            if self.serial_regions:
                i = turn
                r, lo_i, hi_i = (Value.cast(v).word_select(turn, W) for v in (rep_key, lo, hi))
                varies_i = q_node.varies.bit_select(turn, 1)
            else:
                i = t
                r, lo_i, hi_i, varies_i = Value.cast(rep_key[t]), lo[t], hi[t], q_node.varies[t]
            # free below the split: the split's level and under for components
            # after the split's, under it for the split's component and those before
            mask = Signal(W, name=f"free{t}")
            # (none in a component no key below the node differs in)
            m.d.comb += mask.eq(Mux(varies_i, Mux(at.dim < i, (below << 1) | 1, below), 0))
            for child in (0, 1):
                base = Signal(W, name=f"base{t}_{child}")
                with m.If(at.dim == i):
                    m.d.comb += base.eq((r & ~((below << 1) | 1)[:W]) | (Const(child, W) << at.level)[:W])
                with m.Else():
                    m.d.comb += base.eq(r & ~mask)
                m.d.comb += [fits[child][t].eq((base <= hi_i) & ((base | mask) >= lo_i)),
                             within[child][t].eq((base >= lo_i) & ((base | mask) <= hi_i))]
        if self.serial_regions:
            # the verdicts of components 0 .. turn-1: fits0, fits1, within0, within1
            so_far = Signal(4, init=0b1111)
            now = Cat(fits[0], fits[1], within[0], within[1]) & so_far
            reach, inside = [now[0], now[1]], [now[2], now[3]]
        else:
            reach = [fits[0].all(), fits[1].all()]
            inside = [within[0].all(), within[1].all()]

        # Hits leave through a FIFO of entries of up to three, read out one hit
        # a clock: a clock of the walk may answer two leaves of a node and the
        # leaf waiting before the next pending child.
        out_entry = data.StructLayout({"count": range(4), "slot": data.ArrayLayout(P, 3)})
        m.submodules.out = out = SyncFIFO(width=out_entry.size, depth=8)
        out_w, out_r = Signal(out_entry), Signal(out_entry)
        m.d.comb += [out.w_data.eq(out_w), out_r.eq(out.r_data)]
        reading = Signal(range(3))
        hits = self.hits
        ending = Signal()                # the FIFO is empty: the end goes out
        m.d.comb += [hits.valid.eq(out.r_rdy | ending), hits.payload.end.eq(ending),
                     hits.payload.slot.eq(out_r.slot[reading])]
        with m.If(out.r_rdy & hits.ready):
            with m.If(reading + 1 < out_r.count):
                m.d.sync += reading.eq(reading + 1)
            with m.Else():
                m.d.comb += out.r_en.eq(1)
                m.d.sync += reading.eq(0)
        # this clock's answers: up to two of the node's own, then a popped ``pre``
        own_n, own = Signal(range(3)), [Signal(P, name="own0"), Signal(P, name="own1")]
        popped_pre, popped_pre_ptr = Signal(), Signal(P)
        m.d.comb += [out_w.count.eq(own_n + popped_pre),
                     out_w.slot[0].eq(Mux(own_n >= 1, own[0], popped_pre_ptr)),
                     out_w.slot[1].eq(Mux(own_n >= 2, own[1], popped_pre_ptr)),
                     out_w.slot[2].eq(popped_pre_ptr),
                     out.w_en.eq((own_n != 0) | popped_pre)]

        def answer(first, second=None):
            """Answer one leaf (a slot) or two; the caller holds while ``out.w_rdy`` is low."""
            m.d.comb += [own_n.eq(1 if second is None else 2), own[0].eq(first)]
            if second is not None:
                m.d.comb += own[1].eq(second)

        def descend(r, at_leaf, at_node):
            """Look at a node or leaf next (``cur``): its read is issued now."""
            m.d.sync += [cur.leaf.eq(r.leaf), cur.ptr.eq(r.ptr)]
            with m.If(r.leaf):
                read_key(r.ptr)
                m.next = at_leaf
            with m.Else():
                read_node(r.ptr)
                m.next = at_node

        def pop_from(port, at_bottom, then):
            """Read the top of a stack memory (``sp`` entries) and go to ``then``;
            ``at_bottom`` (a state, or what to do) when it is empty."""
            with m.If(sp == 0):
                if callable(at_bottom):
                    at_bottom()
                else:
                    m.next = at_bottom
            with m.Else():
                m.d.comb += [port.addr.eq(sp - 1), port.en.eq(1)]
                m.d.sync += sp.eq(sp - 1)
                m.next = then

        # --- a query's stack: ``top`` is entry ``sp - 1``, the memory holds the rest;
        # after a pop the new top is on the memory's read port (``top_on_port``).
        top_reg, top_on_port = Signal(pending), Signal()
        top = Signal(pending)
        m.d.comb += top.eq(Mux(top_on_port, stack_r.data, top_reg))
        m.d.sync += [top_reg.eq(top), top_on_port.eq(0)]

        def push(entry):
            """Keep a child for later. A leaf inside the box rides on the top
            entry when that has room (its ``pre``), so popping it costs no clock."""
            with m.If(entry.leaf & entry.inside & (sp != 0) & ~top.pre):
                m.d.sync += [top_reg.pre.eq(1), top_reg.pre_ptr.eq(entry.ptr)]
            with m.Else():
                with m.If(sp != 0):
                    m.d.comb += [stack_w.addr.eq(sp - 1), stack_w.data.eq(top), stack_w.en.eq(1)]
                m.d.sync += [top_reg.eq(entry), sp.eq(sp + 1)]

        def look_at(entry):
            """Look at a pending child next: a node's read (and its
            representative's) or an outside leaf's key read is issued now; an
            inside leaf is answered next clock."""
            m.d.sync += [cur.leaf.eq(entry.leaf), cur.ptr.eq(entry.ptr)]
            with m.If(~entry.leaf):
                read_node(entry.ptr)
                with m.If(entry.inside):
                    m.next = "Q_INSIDE"
                with m.Else():
                    m.next = "Q_NODE"
            with m.Elif(entry.inside):
                m.next = "Q_HIT"
            with m.Else():
                read_key(entry.ptr)
                m.next = "Q_LEAF"

        def go_on():
            """Continue with the last pending child, or end the answer."""
            with m.If(sp == 0):
                m.next = "Q_END"
            with m.Else():
                with m.If(sp > 1):
                    m.d.comb += [stack_r.addr.eq(sp - 2), stack_r.en.eq(1)]
                    m.d.sync += top_on_port.eq(1)
                m.d.sync += sp.eq(sp - 1)
                m.d.comb += [popped_pre.eq(top.pre), popped_pre_ptr.eq(top.pre_ptr)]
                look_at(top)

        def children(node, reach0, reach1, inside0, inside1):
            """The children of ``node`` that can hold hits, in Z-order: inside
            leaves are answered now, the first other one is looked at next and
            a second pushed."""
            kids = [Signal(pending, name=f"kid{c}") for c in (0, 1)]
            for c, (kid, inside_c) in enumerate(zip(kids, (inside0, inside1))):
                m.d.comb += [kid.pre.eq(0), kid.leaf.eq(node.child[c].leaf),
                             kid.ptr.eq(node.child[c].ptr), kid.inside.eq(inside_c)]
            hit0, hit1 = kids[0].leaf & kids[0].inside, kids[1].leaf & kids[1].inside
            with m.If(reach0 & reach1):
                with m.If(hit0 & hit1):
                    answer(kids[0].ptr, kids[1].ptr)
                    go_on()
                with m.Elif(hit0):
                    answer(kids[0].ptr)
                    look_at(kids[1])
                with m.Else():
                    push(kids[1])
                    look_at(kids[0])
            with m.Elif(reach0 | reach1):
                kid = Mux(reach1, kids[1].as_value(), kids[0].as_value())
                kid = data.View(pending, kid)
                with m.If(kid.leaf & kid.inside):
                    answer(kid.ptr)
                    go_on()
                with m.Else():
                    look_at(kid)
            with m.Else():
                go_on()

        # an insert's new node: a released one, else the next never used
        linked, leaf = Signal(P), Signal(ref)
        m.d.comb += [linked.eq(Mux(free_sp != 0, free_r.data, fresh)), leaf.leaf.eq(1),
                     leaf.ptr.eq(op.slot)]

        # The parent's write is due (``p_*``, ``new_node``): an insert that
        # needs nothing above the parent writes it the clock after its new node
        # and starts the next update meanwhile, whose walk reads transparently
        # from then on.
        parent_due = Signal()
        m.d.sync += parent_due.eq(0)

        def write_parent():
            m.d.comb += [nodes_w.addr.eq(p_ptr), nodes_w.en.eq(1), nodes_w.data.eq(p_node),
                         nodes_w.data.child[p_dir].leaf.eq(0),
                         nodes_w.data.child[p_dir].ptr.eq(new_node),
                         nodes_w.data.varies.eq(p_node.varies | new_varies)]

        with m.If(parent_due):
            write_parent()

        def link(at, turn, differs, below, parent=None):
            """A new node: split ``at``, the new leaf on side ``turn`` and ``cur``
            (whose keys vary in ``below``) on the other; ``differs``: where the
            new key differs from the closest leaf. ``parent`` (ptr, node, dir):
            the node above it, if not the one in ``p_*`` (``have_p``)."""
            with m.If(free_sp != 0):
                m.d.sync += free_sp.eq(free_sp - 1)
            with m.Else():
                m.d.sync += fresh.eq(fresh + 1)
            m.d.comb += [nodes_w.addr.eq(linked), nodes_w.en.eq(1),
                         nodes_w.data.split.eq(at),
                         nodes_w.data.varies.eq(below | differs),
                         nodes_w.data.child[0].eq(Mux(turn, cur, leaf)),
                         nodes_w.data.child[1].eq(Mux(turn, leaf, cur)),
                         reps_w.addr.eq(linked), reps_w.data.eq(op.slot), reps_w.en.eq(1),
                         keys_w.addr.eq(op.slot), keys_w.data.eq(op.key), keys_w.en.eq(1),
                         creators_w.addr.eq(op.slot), creators_w.data.has.eq(1),
                         creators_w.data.node.eq(linked), creators_w.en.eq(1),
                         live_w.addr.eq(linked), live_w.data.eq(1), live_w.en.eq(1)]
            m.d.sync += new_node.eq(linked)
            learn()
            has_parent, parent_node = (Const(1), parent.node) if parent is not None \
                else (have_p, p_node)
            if parent is not None:
                m.d.sync += [have_p.eq(1), p_ptr.eq(parent.ptr), p_node.eq(parent.node),
                             p_dir.eq(parent.dir)]
            parent_ptr = p_ptr if parent is None else parent.ptr
            with m.If(has_parent & ((parent_node.varies | differs) == parent_node.varies)):
                m.d.sync += parent_due.eq(1)
                finish(due=parent_ptr)
            with m.Else():
                m.next = "I_PARENT"

        queued = data.View(update_layout(W, P), fifo.r_data)

        # --- the directory: where an insert's walk may start -----------------------
        # Entry ``p`` names a node whose subtree held every key whose Morton bits
        # in the window (the ``K`` bits from the root's split down) are ``p``,
        # the deepest such when it was written. It is only a hint: the walk
        # starts there if the node is still in the tree (``live``), and the
        # insert goes on only if the key turns out to belong below it (crit
        # under the node's split) and to differ from its keys only in
        # components it already varies in (so no ``varies`` above it changes);
        # else it walks again from the root. The tree is the same either way.
        # A second, coarser directory (``COARSER`` bits fewer) answers where
        # the first has no entry yet (few keys share those bits).
        K = self.directory_bits
        dir_entry = data.StructLayout({"valid": 1, "ptr": P})
        m.submodules.live = live = Memory(shape=1, depth=self.slots, init=[])
        live_w, live_r = live.write_port(), live.read_port()
        root_pos = Signal(range(DIMS * W), init=DIMS * W - 1)   # the root's split (or was)
        morton = Cat(*(Value.cast(queued.key[DIMS - 1 - q % DIMS])[q // DIMS]
                       for q in range(DIMS * W)))
        head_prefix = Signal(K)
        m.d.comb += head_prefix.eq((Cat(Const(0, K), morton) >> (root_pos + 1))[:K])
        # The directories are read for the queue's head every clock; their
        # answer is the head's when the head was there the clock before, and stayed.
        hint_fresh, hint_ok, hint_ptr = Signal(), Signal(), Signal(P)
        m.d.sync += hint_fresh.eq(fifo.r_rdy & ~fifo.r_en)
        hinted = Signal()                 # this insert started at its hint
        x_above, x_varies = Signal(DIMS * W), Signal(DIMS)   # the hint's node
        last_above = Signal(DIMS * W)     # the positions above ``last``'s split
        op_prefix = Signal(K)
        levels = []                       # per directory: its ports, window and anchor
        for d, bits in enumerate(sorted({K, max(1, K - self.COARSER)}, reverse=True) if K else ()):
            directory = Memory(shape=dir_entry, depth=1 << bits, init=[])
            m.submodules[f"directory{d}"] = directory
            dir_w, dir_r = directory.write_port(), directory.read_port()
            window_low = Signal(range(DIMS * W), name=f"window_low{d}")
            m.d.comb += [window_low.eq(Mux(root_pos >= bits - 1, root_pos - (bits - 1), 0)),
                         dir_r.addr.eq(head_prefix[K - bits:])]
            # the deepest node on the walk splitting in the window
            anchor = Signal(dir_entry, name=f"anchor{d}")
            op_low = Signal(range(DIMS * W), name=f"op_low{d}")
            levels.append(SimpleNamespace(bits=bits, w=dir_w, r=dir_r, anchor=anchor,
                                          op_low=op_low, window_low=window_low,
                                          learn_low=Signal.like(op_low, name=f"learn_low{d}"),
                                          learn_anchor=Signal(dir_entry, name=f"learn_anchor{d}")))
        # the finer directory's entry first
        with m.If(hint_fresh & ~queued.delete):
            for d, level in enumerate(levels):
                with (m.Elif if d else m.If)(level.r.data.valid):
                    m.d.comb += [hint_ok.eq(1), hint_ptr.eq(level.r.data.ptr)]

        def start_of(root_now):
            """Where the head of the queue starts: its hint (an insert's, when the
            directory has one for it) or the root; and whether it is the hint."""
            hinted_now, start = Signal(), Signal(ref)
            m.d.comb += [hinted_now.eq(hint_ok & ~root_now.empty),
                         start.leaf.eq(Mux(hinted_now, 0, root_now.leaf)),
                         start.ptr.eq(Mux(hinted_now, hint_ptr, root_now.ptr))]
            return start, hinted_now

        def begin(root_now, starting=None):
            """Take the next update from the queue and start it from its hint or
            ``root_now`` (``starting``: ``start_of(root_now)`` if the caller has
            it): a walk's first read is issued in the clock the update leaves
            the queue."""
            start, hinted_now = starting or start_of(root_now)
            m.d.comb += fifo.r_en.eq(1)
            m.d.sync += [op.eq(queued), have_p.eq(0), have_g.eq(0), sp.eq(0),
                         hinted.eq(hinted_now), op_prefix.eq(head_prefix)]
            m.d.sync += [level.anchor.valid.eq(0) for level in levels]
            m.d.sync += [level.op_low.eq(level.window_low) for level in levels]
            with m.If(~queued.delete):
                with m.If(root_now.empty):
                    m.d.sync += [root.empty.eq(0), root.leaf.eq(1), root.ptr.eq(queued.slot)]
                    m.d.comb += [keys_w.addr.eq(queued.slot), keys_w.data.eq(queued.key),
                                 keys_w.en.eq(1), creators_w.addr.eq(queued.slot),
                                 creators_w.data.has.eq(0), creators_w.en.eq(1)]
                    m.next = "IDLE"
                with m.Else():
                    m.d.comb += live_r.addr.eq(start.ptr)
                    descend(start, "I_CRIT", "I_FIND")
            with m.Else():
                m.d.sync += [cur.leaf.eq(root_now.leaf), cur.ptr.eq(root_now.ptr)]
                with m.If(root_now.leaf):       # the only key
                    m.d.sync += root.empty.eq(1)
                    m.next = "IDLE"
                with m.Else():
                    read_node(root_now.ptr)
                    m.next = "D_WALK"

        def finish(root_now=root, due=None):
            """An update ends: the next one starts this clock when it is queued
            and its first read is not of a node whose write is ``due`` next
            clock (the read, issued now, would miss it), nor of a ``live`` bit
            written now."""
            starting = start_of(root_now)
            start, _ = starting
            clash = Signal()
            m.d.comb += clash.eq(~start.leaf & (live_w.en & (live_w.addr == start.ptr)))
            if due is not None:
                # (nor a walk that starts at a leaf: its next state may write a node)
                with m.If(start.leaf | (start.ptr == due)):
                    m.d.comb += clash.eq(1)
            with m.If(fifo.r_rdy & ~clash & ~root_now.empty):
                begin(root_now, starting)
            with m.Else():
                m.next = "IDLE"

        # The directory learns where the key's window starts now, a clock after
        # the new node's write (crit is in its register then), from copies of
        # what the next update's start overwrites: the new node if it splits
        # in the window, else the anchor.
        # (the new node is ``new_node``, which no start overwrites)
        learn_due, learn_prefix = Signal(), Signal(K)
        m.d.sync += learn_due.eq(0)

        def learn():
            m.d.sync += [learn_due.eq(1), learn_prefix.eq(op_prefix)]
            m.d.sync += [level.learn_low.eq(level.op_low) for level in levels]
            m.d.sync += [level.learn_anchor.eq(level.anchor) for level in levels]

        with m.If(learn_due):
            for level in levels:
                in_window = position(crit) >= level.learn_low
                m.d.comb += [level.w.addr.eq(learn_prefix[K - level.bits:]),
                             level.w.en.eq(in_window | level.learn_anchor.valid),
                             level.w.data.valid.eq(1),
                             level.w.data.ptr.eq(Mux(in_window, new_node, level.learn_anchor.ptr))]

        def restart():
            """Walk again, from the root."""
            m.d.sync += [hinted.eq(0), have_p.eq(0), sp.eq(0)]
            m.d.sync += [level.anchor.valid.eq(0) for level in levels]
            descend(root, "I_CRIT", "I_FIND")

        def note_root(d):
            """``d`` is the node just read: the root's split, if it is the root."""
            with m.If(~cur.leaf & ~root.leaf & (cur.ptr == root.ptr)):
                m.d.sync += root_pos.eq(position(d.split))

        m.d.comb += self.idle.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.idle.eq(fifo.level == 0)
                with m.If(fifo.r_rdy):
                    begin(root)
                with m.Elif(self.query.valid & (fifo.level == 0)):
                    m.d.sync += sp.eq(0)
                    with m.If(root.empty):
                        m.next = "Q_END"
                    with m.Else():
                        start = Signal(pending)
                        m.d.comb += [start.pre.eq(0), start.leaf.eq(root.leaf), start.ptr.eq(root.ptr)]
                        look_at(start)

            # --- updates -----------------------------------------------------------
            with m.State("I_FIND"):              # down to the leaf closest to the key
                d = nodes_r.data
                nxt = d.child[key_turn]
                with m.If(hinted & (sp == 0) & ~live_r.data):
                    restart()                    # the hint's node has left the tree
                with m.Else():
                    m.d.comb += [path_w.addr.eq(sp), path_w.en.eq(1), path_w.data.ptr.eq(cur.ptr),
                                 path_w.data.node.eq(d), path_w.data.dir.eq(key_turn)]
                    d_above = above(d.split, "d_above")
                    m.d.sync += [sp.eq(sp + 1), last.eq(path_w.data), last_above.eq(d_above)]
                    with m.If(sp == 0):
                        m.d.sync += [x_above.eq(d_above), x_varies.eq(d.varies)]
                    for level in levels:
                        with m.If(position(d.split) >= level.op_low):
                            m.d.sync += [level.anchor.valid.eq(1), level.anchor.ptr.eq(cur.ptr)]
                    note_root(d)
                    descend(nxt, "I_CRIT", "I_FIND")

            # The new node goes on the path just walked, below the last node that
            # splits above crit: back up from the leaf (for keys that differ in
            # their high bits, a step or two) instead of walking down again. The
            # leaf's parent is in a register (``last``): most new nodes go right
            # above the leaf, and link in the clock the leaf's key arrives.
            with m.State("I_CRIT"):
                crit_now, dir_now, varies_now = Signal(split), Signal(), Signal(DIMS)
                m.d.comb += [crit_now.level.eq(diff_level), crit_now.dim.eq(diff_dim),
                             dir_now.eq(bit_of(op.key, crit_now)),
                             varies_now.eq(Cat(*(d.any() for d in diff)))]
                m.d.sync += [crit.eq(crit_now), new_dir.eq(dir_now), new_varies.eq(varies_now)]
                with m.If(hinted & ((diff_m & x_above).any() | (varies_now & ~x_varies).any())):
                    restart()                    # the key does not belong below the hint
                with m.Elif(sp == 0):           # the tree was one leaf
                    link(crit_now, dir_now, varies_now, 0)
                with m.Elif((diff_m & last_above).any()):   # crit above the leaf's parent
                    m.d.sync += [cur.leaf.eq(0), cur.ptr.eq(last.ptr), cur_varies.eq(last.node.varies)]
                    with m.If(sp == 1):
                        m.d.sync += sp.eq(0)
                        m.next = "I_LINK"
                    with m.Else():
                        m.d.comb += [path_r.addr.eq(sp - 2), path_r.en.eq(1)]
                        m.d.sync += sp.eq(sp - 2)
                        m.next = "I_BACK"
                with m.Else():
                    m.d.sync += sp.eq(sp - 1)
                    link(crit_now, dir_now, varies_now, 0, parent=last)

            with m.State("I_BACK"):
                e = path_r.data
                with m.If(position(e.node.split) < position(crit)):
                    m.d.sync += [cur.leaf.eq(0), cur.ptr.eq(e.ptr), cur_varies.eq(e.node.varies)]
                    pop_from(path_r, "I_LINK", "I_BACK")
                with m.Else():
                    m.d.sync += [have_p.eq(1), p_ptr.eq(e.ptr), p_node.eq(e.node), p_dir.eq(e.dir)]
                    m.next = "I_LINK"

            with m.State("I_LINK"):              # a new node: crit, the new leaf, cur
                link(crit, new_dir, new_varies, cur_varies)

            # The new key may differ from the keys above in components they
            # did not vary in: the parent and, up the path, each ancestor that
            # lacks one of them learns them (an ancestor that has them all is
            # under ancestors that have them too).
            with m.State("I_PARENT"):
                with m.If(have_p):
                    write_parent()
                    with m.If((p_node.varies | new_varies) != p_node.varies):
                        pop_from(path_r, finish, "I_UP")
                    with m.Else():
                        finish()
                with m.Else():
                    m.d.sync += [root.leaf.eq(0), root.ptr.eq(new_node), root_pos.eq(position(crit))]
                    new_root = Signal(root_shape)
                    m.d.comb += [new_root.empty.eq(0), new_root.leaf.eq(0), new_root.ptr.eq(new_node)]
                    finish(new_root)

            with m.State("I_UP"):
                e = path_r.data
                with m.If((e.node.varies | new_varies) != e.node.varies):
                    m.d.comb += [nodes_w.addr.eq(e.ptr), nodes_w.en.eq(1), nodes_w.data.eq(e.node),
                                 nodes_w.data.varies.eq(e.node.varies | new_varies)]
                    pop_from(path_r, finish, "I_UP")
                with m.Else():
                    finish()

            with m.State("D_WALK"):              # down to the slot, keeping parent and grandparent
                d = nodes_r.data
                note_root(d)
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
                m.d.comb += [free_w.addr.eq(free_sp), free_w.data.eq(p_ptr), free_w.en.eq(1),
                             live_w.addr.eq(p_ptr), live_w.data.eq(0), live_w.en.eq(1)]
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
            # Each state that may answer holds while the hit FIFO is full.
            with m.State("Q_NODE"):              # a node not known to be inside
                m.d.sync += q_node.eq(nodes_r.data)
                read_key(reps_r.data)
                m.next = "Q_REP"

            with m.State("Q_REP"):               # its representative's key is read
                if self.serial_regions:
                    with m.If(turn != DIMS - 1):
                        m.d.sync += [so_far.eq(now), turn.eq(turn + 1)]
                    with m.Elif(out.w_rdy):
                        m.d.sync += [so_far.eq(0b1111), turn.eq(0)]
                        children(q_node, reach[0], reach[1], inside[0], inside[1])
                else:
                    with m.If(out.w_rdy):
                        children(q_node, reach[0], reach[1], inside[0], inside[1])

            with m.State("Q_INSIDE"):            # a node inside the box: all of it is hits
                with m.If(out.w_rdy):
                    children(nodes_r.data, Const(1), Const(1), Const(1), Const(1))

            with m.State("Q_LEAF"):              # a leaf's key is read
                with m.If(out.w_rdy):
                    with m.If(in_box(keys_r.data, lo, hi)):
                        answer(cur.ptr)
                    go_on()

            with m.State("Q_HIT"):               # a leaf inside the box
                with m.If(out.w_rdy):
                    answer(cur.ptr)
                    go_on()

            with m.State("Q_END"):               # once every hit is out, the end
                with m.If(~out.r_rdy):
                    m.d.comb += ending.eq(1)
                    with m.If(hits.ready):
                        m.d.comb += self.query.ready.eq(1)
                        m.next = "IDLE"
        return m
