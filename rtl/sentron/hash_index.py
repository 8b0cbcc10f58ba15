"""The hash index: a cuckoo table of (tag, entry id) slots, and its relocation engine.

``buckets`` rows of ``slots`` slots in one memory, a row read a clock and a
slot written at a time. Commands (``index_command_layout``), one at a time:

* LOOKUP (first bucket, tag): every slot of the key's two buckets whose tag
  matches, as a bit mask and the entry ids (the caller compares keys in the
  entry store: the tag only filters). NOT_FOUND when none.
* INSERT (first bucket, tag, entry id) of a key known to be absent: the
  lowest empty slot of the first bucket, else of the second; else the
  breadth-first search for a cuckoo path of at most ``max_moves`` moves, and
  the moves; TABLE_FULL (nothing written) when there is none. ``moves``
  says how many slots moved.
* REMOVE (first bucket, tag, entry id): empties the slot holding that entry.

Exactly the placement of the model's ``vtpu.memory.CuckooMemory`` (docs/isa.md,
"Memory"): a key's second bucket is ``b ^ ((tag | 1) mod buckets)``, so a
slot's other bucket comes from its tag alone. The search keeps its nodes in
registers, each with its parent, the parent's slot and that slot's content
(what moves into the node): at most ``2 + 2 * slots`` nodes for two moves.
A node's children are tried in slot order, each child's row read to look for
an empty slot; the first child with one ends the search, and the moves are
written from that child back to the root, one slot a clock, the new key last.

With ``slotted`` (the serial store's: the iCEBreaker's) an entry's id is
its slot's place, ``bucket * slots + slot``: a slot holds its tag alone, an
entry lives in its slot's place in the entry store, and there is no free
list. LOOKUP then answers the matches alone (their ids are their places);
INSERT answers where the key went (``placed``) and, when a slot moved
(``moves``, one at most), where it went (``moved_to``: the entry at
``placed`` moves there before the new key takes its place); REMOVE empties
the slot at the command's ``entry``.

With ``probe`` (the pipelined sentron's) the rows are two memories, the even
buckets' and the odd ones': a key's two buckets differ in bit 0, so
``probe_*`` reads both in one clock, one from each, without a second copy of
the rows; and ``poke_*`` writes a slot (a CDEL or a new key the pipeline
answers). Both only while the FSM is idle; its own reads and writes go
through the same ports, a row at a time.

Timing: a lookup or remove takes 3 clocks and an answer; an insert that
finds room 3; one that searches about ``1 + slots`` clocks per node it
expands and a clock per move. With the default index (twice as many slots
as entries) searches are rare (``make bench``: ``model.relocations``).

With ``registered`` (a fast clock: the ULX3S's) every row read is
registered, with its slots' tag matches and empty bits, before the search
or the answer acts on it, and the search's nodes are read from registers:
from the block RAM's output through the tag compares and the choice of slot
into the write port was the ULX3S core's deepest path (14 logic levels,
``flow.levels``). A lookup then takes 4 clocks, a search ``3 + 3 * slots``
a node and a move 2.
"""

from types import SimpleNamespace

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vtpu.isa import Status
from vtpu.memory import TAG_BITS

from .execute import first_one

__all__ = ["IndexOp", "HashIndex", "slot_layout", "index_command_layout", "index_answer_layout"]


class IndexOp(enum.Enum, shape=2):
    LOOKUP = 0
    INSERT = 1
    REMOVE = 2


def slot_layout(entry_bits):
    """A slot: its tag and, unless the index is ``slotted`` (``entry_bits`` 0), its entry's id."""
    fields = {"valid": 1, "tag": TAG_BITS}
    if entry_bits:
        fields["entry"] = entry_bits
    return data.StructLayout(fields)


def index_command_layout(bucket_bits, entry_bits):
    return data.StructLayout({"op": IndexOp, "bucket": bucket_bits, "tag": TAG_BITS,
                              "entry": entry_bits})


def index_answer_layout(slots, entry_bits, max_moves, slotted=False):
    """``found``: slots of the first bucket, then of the second (LOOKUP);
    ``entries``: their ids, or, ``slotted``, ``placed`` and ``moved_to`` (INSERT)."""
    if slotted:
        return data.StructLayout({"status": Status, "found": 2 * slots,
                                  "moves": range(max_moves + 1),
                                  "placed": entry_bits, "moved_to": entry_bits})
    return data.StructLayout({"status": Status, "found": 2 * slots,
                              "entries": data.ArrayLayout(entry_bits, 2 * slots),
                              "moves": range(max_moves + 1)})


class HashIndex(wiring.Component):
    def __init__(self, *, buckets, slots=4, entry_bits=None, max_moves=2, probe=False,
                 slotted=False, registered=False):
        """``probe``: the rows in two memories, of the even and the odd
        buckets, and the ``probe_*`` ports; ``slotted``: an entry's id is its
        slot's place (``entry_bits`` follows); ``registered``: each row read
        registered before it is acted on (see the module's docstring)."""
        if buckets < 2 or buckets & (buckets - 1):
            raise ValueError("buckets must be a power of two >= 2")
        if max_moves not in (0, 1, 2):
            # With at most two moves no path can revisit a bucket with room (a
            # root is full), so the model's "skip a bucket on its own path" rule
            # needs no logic here.
            raise ValueError("this index searches at most 2 moves")
        if slotted:
            if slots & (slots - 1) or max_moves > 1 or probe:
                raise ValueError("a slotted index has a power of two of slots, moves one "
                                 "entry at most and is not probed")
            entry_bits = (buckets * slots - 1).bit_length()
        self.slotted, self.registered = slotted, registered
        self.buckets, self.slots, self.entry_bits = buckets, slots, entry_bits
        self.max_moves = max_moves
        self.bucket_bits = buckets.bit_length() - 1
        self.probe = probe
        ports = {
            "i": In(stream.Signature(index_command_layout(self.bucket_bits, entry_bits))),
            "o": Out(stream.Signature(index_answer_layout(slots, entry_bits, max_moves, slotted))),
        }
        if probe:
            ports.update({
                "probe_bucket": In(self.bucket_bits),    # a key's first bucket
                "probe_tag": In(TAG_BITS),               # and its tag
                "probe_en": In(1),
                # a clock after ``probe_en``, until the next: the two buckets'
                # slots, the first bucket's first
                "probe_rows": Out(data.ArrayLayout(slot_layout(entry_bits), 2 * slots)),
                # write ``poke_item`` into slot ``poke_slot`` of bucket
                # ``poke_bucket`` (while the FSM is idle: a CDEL or an insert
                # the caller's pipeline answers)
                "poke_en": In(1),
                "poke_bucket": In(self.bucket_bits),
                "poke_slot": In(range(slots)),
                "poke_item": In(slot_layout(entry_bits)),
            })
        super().__init__(ports)

    def stored_row(self, ctx, bucket):
        """Bucket ``bucket``'s row as the simulator holds it (for tests)."""
        if self.probe:
            return ctx.get(self.rows[bucket & 1].data[bucket >> 1])
        return ctx.get(self.rows.data[bucket])

    def other(self, bucket, tag):
        """A slot's other bucket."""
        return bucket ^ (tag[:self.bucket_bits] | 1)

    def place(self, bucket, slot):
        """A slotted index's entry id of slot ``slot`` of bucket ``bucket``."""
        return Cat(Const(slot, (self.slots - 1).bit_length()) if isinstance(slot, int) else slot,
                   bucket)

    def elaborate(self, platform):
        m = Module()
        S, B = self.slots, self.bucket_bits
        slot = slot_layout(0 if self.slotted else self.entry_bits)
        row_shape = data.ArrayLayout(slot, S)
        idle = Signal()                  # the FSM waits for a command
        if self.probe:
            rd, wr = self._banks(m, row_shape, idle)
        else:
            m.submodules.rows = rows = Memory(shape=row_shape, depth=self.buckets, init=[])
            rd = rows.read_port()
            wr = rows.write_port(granularity=1)     # one enable per slot
            self.rows = rows             # for tests: the index's contents

        cmd = Signal(self.i.payload.shape(), reset_less=True)
        new = Signal(slot)               # the slot the command's key gets
        m.d.comb += [new.valid.eq(1), new.tag.eq(cmd.tag)]
        if not self.slotted:
            m.d.comb += new.entry.eq(cmd.entry)
        second = self.other(cmd.bucket, cmd.tag)
        row1 = Signal(rd.data.shape(), reset_less=True)
        answer = Signal(self.o.payload.shape())
        m.d.comb += self.o.payload.eq(answer)

        def write(bucket, index, content):
            m.d.comb += [wr.addr.eq(bucket), wr.en.eq(1 << index)]
            m.d.comb += [wr.data[k].eq(content) for k in range(S)]

        def holds(k, s):
            """Slot ``k`` of the two buckets (``s``) holds the command's entry."""
            if self.slotted:
                return self.place(cmd.bucket if k < S else second, k % S) == cmd.entry
            return s.entry == cmd.entry

        def empty_slot(empty):
            """The lowest empty slot of a row, and whether there is one."""
            return first_one(empty), Cat(*empty).any()

        # --- the search's nodes -------------------------------------------------
        nodes = 2 + 2 * S if self.max_moves == 2 else 2
        node_shape = data.StructLayout({"bucket": B, "root": 1, "parent": range(nodes),
                                        "slot": range(S), "item": slot})
        queue = Array(Signal(node_shape, reset_less=True, name=f"node{n}") for n in range(nodes))
        head = Signal(range(nodes + 1))
        tail = Signal(range(nodes + 1))
        j = Signal(range(S))                      # the head's slot whose child is read
        head_row = Signal(rd.data.shape(), reset_less=True)
        child = Signal(B, reset_less=True)
        cur = Signal(range(nodes))                # MOVE: the node being filled
        cur_slot = Signal(range(S))
        moves = Signal(range(self.max_moves + 1))

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [idle.eq(1), self.i.ready.eq(1), rd.addr.eq(self.i.payload.bucket)]
                if self.registered:
                    # loaded while idle, with no enable: the sender's decision to
                    # send (its state machine) fanned out over the command's flops
                    m.d.sync += cmd.eq(self.i.payload)
                with m.If(self.i.valid):
                    if not self.registered:
                        m.d.sync += cmd.eq(self.i.payload)
                    m.d.sync += moves.eq(0)
                    m.next = "ROW1"
            if self.registered:
                # each slot of the two rows: its tag is the command's, it holds
                # the command's entry (REMOVE, with the tag), it is empty
                match, owns, vacant = (Signal(2 * S, name=n) for n in ("match", "owns", "vacant"))
                row2 = Signal(rd.data.shape(), reset_less=True)

                def facts(row, half):
                    for n in range(S):
                        k = n + half * S
                        m.d.sync += [match[k].eq(row[n].valid & (row[n].tag == cmd.tag)),
                                     owns[k].eq(holds(k, row[n])), vacant[k].eq(~row[n].valid)]
            with m.State("ROW1"):
                m.d.comb += rd.addr.eq(second)
                m.d.sync += row1.eq(rd.data)
                if self.registered:
                    facts(rd.data, 0)
                m.next = "ROW2"
            if self.registered:
                with m.State("ROW2"):
                    m.d.sync += row2.eq(rd.data)
                    facts(rd.data, 1)
                    m.next = "DECIDE"
            else:
                row2 = rd.data
            with m.State("DECIDE" if self.registered else "ROW2"):
                both = [row1[k] for k in range(S)] + [row2[k] for k in range(S)]
                m.d.sync += [answer.found.eq(0), answer.status.eq(Status.OK)]
                m.next = "ANSWER"
                with m.Switch(cmd.op):
                    with m.Case(IndexOp.LOOKUP):
                        if not self.registered:
                            match = Cat(*(s.valid & (s.tag == cmd.tag) for s in both))
                        m.d.sync += [answer.found.eq(match),
                                     answer.status.eq(Mux(match.any(), Status.OK,
                                                          Status.NOT_FOUND))]
                        if not self.slotted:
                            m.d.sync += [answer.entries[k].eq(s.entry)
                                         for k, s in enumerate(both)]
                    with m.Case(IndexOp.REMOVE):
                        if self.registered:
                            hits = list(match & owns)
                        else:
                            hits = [s.valid & (s.tag == cmd.tag) & holds(k, s)
                                    for k, s in enumerate(both)]
                        in1, in2 = Cat(*hits[:S]).any(), Cat(*hits[S:]).any()
                        gone = Signal(slot)           # an empty slot
                        with m.If(in1):
                            write(cmd.bucket, first_one(hits[:S]), gone)
                        with m.Elif(in2):
                            write(second, first_one(hits[S:]), gone)
                        with m.Else():
                            m.d.sync += answer.status.eq(Status.NOT_FOUND)
                    with m.Case(IndexOp.INSERT):
                        if self.registered:
                            at1, room1 = empty_slot(vacant[:S])
                            at2, room2 = empty_slot(vacant[S:])
                        else:
                            at1, room1 = empty_slot([~row1[k].valid for k in range(S)])
                            at2, room2 = empty_slot([~row2[k].valid for k in range(S)])
                        with m.If(room1):
                            write(cmd.bucket, at1, new)
                            if self.slotted:
                                m.d.sync += answer.placed.eq(self.place(cmd.bucket, at1))
                        with m.Elif(room2):
                            write(second, at2, new)
                            if self.slotted:
                                m.d.sync += answer.placed.eq(self.place(second, at2))
                        with m.Else():
                            if self.max_moves:
                                m.d.sync += [queue[0].bucket.eq(cmd.bucket), queue[0].root.eq(1),
                                             queue[1].bucket.eq(second), queue[1].root.eq(1),
                                             head.eq(0), tail.eq(2)]
                                m.next = "EXPAND"
                            else:
                                m.d.sync += answer.status.eq(Status.TABLE_FULL)

            if self.max_moves:
                if self.registered:
                    # the head node (and MOVE's) from a register: the queue's
                    # multiplexer in front of the row address was 10 levels deep
                    node = Signal(node_shape, reset_less=True)
                    with m.State("EXPAND"):
                        m.d.sync += node.eq(queue[head])
                        m.next = "HEAD_READ"
                    with m.State("HEAD_READ"):
                        m.d.comb += rd.addr.eq(node.bucket)
                        m.next = "HEAD_ROW"
                else:
                    node = queue[head]
                    with m.State("EXPAND"):
                        m.d.comb += rd.addr.eq(node.bucket)
                        m.next = "HEAD_ROW"
                with m.State("HEAD_ROW"):
                    # the head's row is here: read its first slot's other bucket
                    m.d.sync += [head_row.eq(rd.data), j.eq(0)]
                    if self.registered:
                        m.next = "CHILD_READ"
                    else:
                        m.d.sync += child.eq(self.other(node.bucket, rd.data[0].tag))
                        m.d.comb += rd.addr.eq(self.other(node.bucket, rd.data[0].tag))
                        m.next = "CHILD"
                if self.registered:
                    child_vacant = Signal(S)
                    with m.State("CHILD_READ"):
                        m.d.comb += rd.addr.eq(self.other(node.bucket, head_row[j].tag))
                        m.d.sync += child.eq(self.other(node.bucket, head_row[j].tag))
                        m.next = "CHILD_ROW"
                    with m.State("CHILD_ROW"):
                        m.d.sync += child_vacant.eq(Cat(*(~rd.data[k].valid for k in range(S))))
                        m.next = "CHILD"
                with m.State("CHILD"):
                    if self.registered:
                        at, room = empty_slot(list(child_vacant))
                    else:
                        at, room = empty_slot([~rd.data[k].valid for k in range(S)])
                    # only a root's children are nodes to expand later (two moves at most)
                    pushes = node.root if self.max_moves == 2 else Const(0)
                    next_child = self.other(node.bucket, head_row[j + 1].tag)
                    with m.If(room):
                        # the path's last move: the head's slot j into the child
                        write(child, at, head_row[j])
                        m.d.sync += [cur.eq(head), cur_slot.eq(j), moves.eq(1)]
                        if self.slotted:
                            # (one move: the new key takes the slot this one leaves)
                            m.d.sync += [answer.moved_to.eq(self.place(child, at)),
                                         answer.placed.eq(self.place(node.bucket, j))]
                        m.next = "FILL" if self.registered else "MOVE"
                    with m.Else():
                        if self.max_moves == 2:
                            with m.If(pushes):
                                m.d.sync += [queue[tail].bucket.eq(child), queue[tail].root.eq(0),
                                             queue[tail].parent.eq(head), queue[tail].slot.eq(j),
                                             queue[tail].item.eq(head_row[j]), tail.eq(tail + 1)]
                        with m.If(j != S - 1):
                            m.d.sync += j.eq(j + 1)
                            if self.registered:
                                m.next = "CHILD_READ"
                            else:
                                m.d.sync += child.eq(next_child)
                                m.d.comb += rd.addr.eq(next_child)
                        with m.Else():
                            # the head is done; a node pushed this clock still counts
                            m.d.sync += head.eq(head + 1)
                            with m.If(head + 1 == tail + pushes):
                                m.d.sync += answer.status.eq(Status.TABLE_FULL)
                                m.next = "ANSWER"
                            with m.Else():
                                m.next = "EXPAND"
                if self.registered:
                    filling = Signal(node_shape, reset_less=True)
                    with m.State("FILL"):
                        m.d.sync += filling.eq(queue[cur])
                        m.next = "MOVE"
                else:
                    filling = queue[cur]
                with m.State("MOVE"):
                    # fill the vacated slot ``cur_slot`` of node ``cur``: with the
                    # new key at a root, else with the item its parent's slot held
                    with m.If(filling.root):
                        write(filling.bucket, cur_slot, new)
                        m.d.sync += [answer.status.eq(Status.OK), answer.moves.eq(moves),
                                     answer.found.eq(0)]
                        m.next = "ANSWER"
                    with m.Else():
                        write(filling.bucket, cur_slot, filling.item)
                        m.d.sync += [cur.eq(filling.parent), cur_slot.eq(filling.slot),
                                     moves.eq(moves + 1)]
                        if self.registered:
                            m.next = "FILL"
            with m.State("ANSWER"):
                m.d.comb += self.o.valid.eq(1)
                with m.If(self.o.ready):
                    m.d.sync += answer.moves.eq(0)
                    m.next = "IDLE"
        return m

    def _banks(self, m, row_shape, idle):
        """The rows as two memories, the even buckets' and the odd ones'. A key's
        two buckets differ in bit 0 (``other`` flips it), so a probe reads both
        in one clock, one from each, and the memory is not copied for a second
        read port. The FSM reads and writes through the same ports, one row at
        a time, as if through one memory's (returned as such); its reads win
        over a probe, and leave the probe's rows when it is idle and has no
        command. Returns (read port, write port) stand-ins."""
        S, B = self.slots, self.bucket_bits
        banks = [Memory(shape=row_shape, depth=self.buckets // 2, init=[]) for _ in range(2)]
        m.submodules.even, m.submodules.odd = banks
        self.rows = banks                # for tests: ``stored_row``
        reads = [bank.read_port() for bank in banks]
        writes = [bank.write_port(granularity=1) for bank in banks]
        rd = SimpleNamespace(addr=Signal(B, name="rd_bucket"), data=Signal(row_shape, name="rd_row"))
        wr = SimpleNamespace(addr=Signal(B, name="wr_bucket"), en=Signal(S, name="wr_slots"),
                             data=Signal(row_shape, name="wr_row"))
        rd_odd = Signal()                # the FSM's row was read from the odd bank
        probe_odd = Signal()             # the probe's first bucket is odd
        fsm_reads = ~idle | self.i.valid
        m.d.sync += rd_odd.eq(rd.addr[0])
        with m.If(self.probe_en & ~fsm_reads):
            m.d.sync += probe_odd.eq(self.probe_bucket[0])
        second = self.other(self.probe_bucket, self.probe_tag)
        for k, (read, write) in enumerate(zip(reads, writes)):
            # a probe reads the bucket of the pair that is in this bank
            probed = Mux(self.probe_bucket[0] == k, self.probe_bucket, second)
            m.d.comb += [read.addr.eq(Mux(fsm_reads, rd.addr, probed)[1:]),
                         read.en.eq(fsm_reads | self.probe_en),
                         write.addr.eq(wr.addr[1:]), write.data.eq(wr.data),
                         write.en.eq(Mux(wr.addr[0] == k, wr.en, 0))]
        with m.If(self.poke_en):
            m.d.comb += [wr.addr.eq(self.poke_bucket), wr.en.eq(1 << self.poke_slot)]
            m.d.comb += [wr.data[k].eq(self.poke_item) for k in range(S)]
        m.d.comb += [rd.data.eq(Mux(rd_odd, reads[1].data, reads[0].data)),
                     self.probe_rows.as_value().eq(Mux(probe_odd,
                                                       Cat(reads[1].data, reads[0].data),
                                                       Cat(reads[0].data, reads[1].data)))]
        return rd, wr
