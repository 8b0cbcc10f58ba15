"""CuckooSequencer: a sentron on the cuckoo memory.

The memory of docs/isa.md ("Memory"), exactly as the model's
``vtpu.memory.CuckooMemory`` places keys:

* the **entry store**: ``entries`` rows of (valid, key, value), addressed by
  entry id (``table_ports`` with one way), or with ``spram`` four 64-bit
  words an entry (``SerialEntryStore``: the iCEBreaker's SPRAM), which
  compares a candidate's key word by word, or with ``pipelined`` keys and
  values in memories of their own (``_split_store``);
* the **free list**: a stack of freed ids and a count of ids never used;
* the **hash index** (``HashIndex``): two buckets a key, tag and entry id a
  slot, with the bounded relocation search. With ``spram`` there are as
  many entries as slots, and an entry's id is its slot's place (``HashIndex``
  ``slotted``): a slot holds its tag alone, there is no free list, and a
  relocation moves the entry with its slot (``SerialEntryStore``'s ``move``,
  12 clocks). The same keys are stored and refused as by the model, whose
  ids differ: its free list empties only when every slot is taken;
* the **Z-order index** (``ZIndex``) over entry ids: its slots are entry ids.
  It reads keys from the entry store through the block RAM's second port
  (``shared_keys``) rather than keeping a copy of its own; the sequencer
  reads and writes through the first, at one address. So that every key the
  index reads is the one it linked, a freed id is reused only once the index
  has applied its delete (``idle``): until then a new key takes a never-used
  id, or waits for one. Which id an entry has is not visible in any answer.
  Or, with ``scan`` (a board with no room for the index: the HX8K, and the
  ULX3S's four sentrons), no index: the range walk reads the whole store
  once a hit (``ZScan``), through the sequencer's port, and a sentron on its
  own hashes CDIGEST's entries a bit a clock (``range_walk``'s serial
  digest; in an array the ``DigestUnit`` in front does). Or, with ``spram``
  (the iCEBreaker), the scan a component a clock (``SerialScan``) on the
  pattern where the decoder holds it, which it turns; a hit's key is put in
  place of the pattern's ``lo`` to be answered, or, for CDIGEST, hashed
  there by the bit-serial hash unit, which then holds the digest's columns
  too.

A point instruction looks its key up in the index (the slots of its two
buckets whose tag matches), then reads the candidates' entries until one
holds the key. CGET answers from it; CPUT overwrites it, or, for a new key,
takes an id (TABLE_FULL when none is free), inserts it in the index
(TABLE_FULL when no cuckoo path frees a slot, and nothing has changed),
writes the entry and queues the key for the Z-order index; CDEL removes it
from the index, frees its id and queues the delete.

**One instruction at a time** (the default): a state machine. A point
instruction takes about six clocks (``make bench``:
``rtl.cuckoo.cget.per_clock``, 0.16; the first candidate's entry is read as
the index answers (not in the serial store), and a hit answers the clock
after its key's compare, which is registered), an insert that relocates a
few dozen more.

With ``hold`` (one sentron straight behind the frame decoder) it works on
the instruction where the decoder holds it, taking it (``i.ready``) with its
final answer, instead of copying its 600-odd bits; with ``bit_serial`` (the
HX8K) the key's table hash and CMOE's multiply-high take a bit a clock (a
point instruction some 150 clocks more, where the 3 Mbaud link takes
thousands of clocks a frame), in some 1,100 LUT4s fewer.

**Pipelined** (``pipelined``): point instructions in three stages, one a
clock (``rtl.cuckoo_pipelined.cget.per_clock`` 1.0, latency 4)::

    S1  the instruction and its hash (``HashUnit``, or the array's);
        the index reads the key's two rows, one from each of its banks
        (``HashIndex`` ``probe``: a key's buckets differ in bit 0)
    S2  the slots whose tag is the key's; the lowest one's entry is read
    S3  the key compared: CGET answers, CPUT writes the value, CDEL empties
        the slot, frees the id and queues the delete, each in the clock it
        answers; a miss of CGET or CDEL answers NOT_FOUND

A new key goes in from S3 too, in the clock it answers, when the rows S2
read have an empty slot and MISS would give it a never-used id: S3 writes
the index slot, the key and value, and queues the key for the Z-order
index; S2 then reads its rows again, so new keys go in one every three
clocks.

Everything else goes from S3 to the state machine, S1 and S2 waiting: a new
key that needs a freed id or a relocation (MISS), another slot with the tag
(CANDIDATE: a tag collision, at most one lookup in 8,000: 8 slots of 16-bit
tags), a decoder's error, the pure and the range instructions. Hazards, all
on what S2 and S1 read before the instruction ahead wrote it:

* a value S3 writes while S2 reads it: S2 takes the written one;
* a slot a CDEL in S3 empties that the two behind it read before: the last
  two ids deleted (``dead``) are no candidates;
* rows the state machine changed (an insert, a relocation, a CDEL it
  answered) or S3 filled (a new key) while S2 held its own: S2 reads them
  again (``reread``). S1 reads its rows only as it moves on, after the change;
* an empty slot a CDEL in S3 made that the new key behind it does not see
  (it would be the model's choice): while ``dead`` holds an id, a new key
  goes through MISS.

The pure instructions (CDELTA, CHIER UP, CMOE, CROUTE, CRTSET) and the
range walks use the execution units the other sequencers use
(``rtl.sentron.execute``). ``make sim``'s cuckoo phase cross-checks both
forms against the model with an index small enough that relocations, the
search bound, a full store and reused ids all happen, the pipelined one
also as an array fed a clock apart (the hazard bins).
"""

from types import SimpleNamespace

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory

from vtpu.hash import h3_rows
from vtpu.isa import (COORD_WIDTH, DIGEST_SEED, DIGEST_WIDTH, DIMS, HASH_WIDTH, TABLE_SEED,
                      VALUE_WIDTH, Op, Status)
from vtpu.memory import TAG_BITS, TAG_SHIFT, index_buckets

from ..layouts import coord_layout, response_layout
from .execute import (SENTRON_OPS, RANGE_OPS, SentronPorts, chier_up_mask, croute, first_one,
                      goes_to_index, pattern_bad, range_walk, scans, settled_cdelta,
                      table_free_cases)
from .entry_store import SerialEntryStore
from .hash_index import HashIndex, IndexOp
from .hash_unit import HashUnit, SerialHashUnit
from .table import entry_layout, registered_read, route_table, table_ports
from .zindex import ZIndex
from .serial_routes import SerialRoutes
from .serial_scan import SerialScan
from .zscan import ZScan

__all__ = ["CuckooSequencer"]


class CuckooSequencer(SentronPorts):
    def __init__(self, *, entries=256, buckets=None, slots=4, max_moves=2, sentron_bits=0,
                 width=COORD_WIDTH, value_width=VALUE_WIDTH, seed=TABLE_SEED,
                 ops=SENTRON_OPS, hashed=False, spram=False, index_queue=ZIndex.QUEUE,
                 serial_regions=False, pipelined=False, scan=False, hold=False,
                 bit_serial=False, registered=False):
        """``spram``: the entry store in a RAM of 64-bit words, four an entry
        (``SerialEntryStore``: the UP5K's SPRAM), each at its index slot's
        place (``buckets`` x ``slots`` entries; ``buckets`` by default
        ``entries / slots``). Its range walk (CRANGE, CHIER DOWN, and CDIGEST
        with ``bit_serial``) is ``SerialScan``'s, a component a clock, on the
        pattern where the sender holds it (``hold``), which it turns (``turn``).
        ``index_queue``, ``serial_regions``: the Z-order index's (``ZIndex``'s
        ``queue`` and ``serial_regions``). ``pipelined``: point instructions
        through the three-stage pipeline (see the module's docstring).
        ``scan``: the range instructions by scanning the entry store
        (``ZScan``), not through a Z-order index. ``hold``: the instruction stays
        on ``i`` until it is answered (``i.ready`` with the answer), which the
        sender must hold meanwhile (the frame decoder does), rather than
        being copied in: some 600 flops fewer, where nothing else would use
        the sender's register (one sentron, not pipelined). ``bit_serial``:
        the key's table hash a bit a clock (``SerialHashUnit``: 146 clocks
        more an instruction, some 1,100 LUT4s fewer in the HX8K's core) and
        CMOE's multiply-high by shifts and adds (17 clocks more; two 16 x 8
        multipliers fewer), for a board whose link, not its core, sets the
        pace. ``registered``: registers for a fast clock (the ULX3S's), a
        clock more where a block RAM's row or a 144-bit compare was acted on
        in the clock it came: the hash index's rows (``HashIndex``
        ``registered``), the scan's Z-order compares (``ZScan``
        ``registered``) and a candidate's key compare (36-bit slices)."""
        if spram and Op.CDIGEST in frozenset(ops) and not bit_serial:
            raise ValueError("the serial store's CDIGEST hashes in the bit-serial hash unit")
        if spram and frozenset(ops) & RANGE_OPS and not hold:
            raise ValueError("the serial store's scan turns the pattern where it is held")
        if spram and pipelined:
            raise ValueError("the pipeline reads an entry a clock: not from the serial store")
        self.spram, self.index_queue, self.serial_regions = spram, index_queue, serial_regions
        self.pipelined = pipelined
        if scan and (spram or pipelined):
            raise ValueError("the scan reads the one-port store's valid bits")
        self.scan = scan
        if registered and (spram or pipelined):
            raise ValueError("the registered forms are the one-port store's scanning sentron's")
        if hold and pipelined:
            raise ValueError("the pipeline takes an instruction a clock")
        self.hold = hold
        if bit_serial and (pipelined or hashed):
            raise ValueError("the bit-serial forms are a one-at-a-time sentron's own")
        self.bit_serial = bit_serial
        self.registered = registered
        # the model's geometry rules and defaults, for one sentron's share
        self.entries = entries
        if spram and buckets is None:
            buckets = max(2, entries // slots)
        self.buckets = index_buckets(entries, slots=slots, buckets=buckets, max_moves=max_moves)
        if spram and (self.buckets * slots != entries or max_moves > 1):
            raise ValueError("the serial store keeps an entry in its index slot's place: "
                             "as many entries as slots (buckets x slots), one move at most")
        self.slots, self.max_moves = slots, max_moves
        self.sentron_bits = sentron_bits          # hash bits below the first bucket (array)
        self.entry_bits = max(1, (entries - 1).bit_length())
        super().__init__(sets=max(2, entries), ways=1, width=width, value_width=value_width,
                         seed=seed, ops=ops, hashed=hashed,
                         turns=spram and bool(frozenset(ops) & RANGE_OPS))

    def _serial_range_walk(self, m, scan, store, active, c, rsp, send, out_free, hash_unit):
        """CRANGE, CHIER DOWN and CDIGEST from the serial store: ``SerialScan``
        finds each hit on the pattern the decoder holds, turning it a component
        a clock, and puts the hit's key in place of the bounds' ``lo`` while it
        is answered (``holding``), so the record's key reaches the answer the
        way CHIER UP's bounds do; its value is read onto the store's port, where
        CGET's answer comes from too. CDIGEST takes the hits in one pass in the
        store's order (the scan's ``every``), and hashes each where the record
        would come from (``hash_unit``'s digest: the key in ``c.coord``, which
        the pattern's ``lo`` shares, then the value on the store's port; 209
        clocks a hit). Returns whether the final answer (the count, CDIGEST's
        sum) is ready, in ``rsp``; it is taken when ``out_free``. ``active``:
        the instruction is one of these."""
        WAIT, RECORD, FINAL = range(3)
        phase = Signal(range(3))
        count = Signal(range(self.entries + 1))     # (the answer's is 32 bits)
        asked = Signal()                            # RECORD: the value's word is asked for
        pattern = c.pattern
        digest = Op.CDIGEST in self.ops
        wiring.connect(m, scan.turn, wiring.flipped(self.turn))
        m.d.comb += [scan.query.payload.lo.eq(pattern.lo[0]), scan.query.payload.hi.eq(pattern.hi[0]),
                     scan.query.payload.wild.eq(pattern.mask[0]),
                     scan.fetch.word.eq(store.word),
                     scan.query.valid.eq(active & (phase == WAIT))]
        if digest:
            digest_sum = Signal(DIGEST_WIDTH)
            # A hit's hash is added in two clocks, a half each, the low half's
            # carry registered: the 64-bit carry chain, split by the placer
            # where the UP5K is full, was an iCEBreaker slowest path. The hash
            # holds until the next run, which is clocks away.
            half = DIGEST_WIDTH // 2
            low_carry, high_due = Signal(), Signal()
            with m.If(high_due):
                m.d.sync += [digest_sum[half:].eq(digest_sum[half:] +
                                                  hash_unit.digest_hash[half:] + low_carry),
                             high_due.eq(0)]
            m.d.comb += [scan.every.eq(c.op == Op.CDIGEST), hash_unit.value.eq(store.word),
                         hash_unit.digest.eq(c.op == Op.CDIGEST)]
        with m.If(active & scan.fetch.en):
            m.d.comb += [store.id.eq(scan.fetch.id), store.beat.eq(scan.fetch.beat),
                         store.fetch.eq(1)]
        record_id = Signal(self.entry_bits, reset_less=True)
        with m.If(active):
            with m.Switch(phase):
                with m.Case(WAIT):
                    m.d.comb += scan.hits.ready.eq(1)
                    with m.If(scan.hits.valid & scan.hits.payload.end):
                        m.d.sync += phase.eq(FINAL)
                    with m.Elif(scan.hits.valid):
                        m.d.sync += [record_id.eq(scan.hits.payload.slot), asked.eq(0),
                                     phase.eq(RECORD)]
                with m.Case(RECORD):
                    with m.If(~asked):
                        m.d.comb += [store.id.eq(record_id), store.beat.eq(store.key_words),
                                     store.fetch.eq(1)]
                        m.d.sync += asked.eq(1)
                    # the key is in place eleven clocks after the hit, the value
                    # two after it was asked for
                    with m.If(scan.holding & (c.op == Op.CDIGEST) if digest else Const(0)):
                        m.d.comb += hash_unit.run.eq(1)
                        with m.If(~hash_unit.busy):
                            low = digest_sum[:half] + hash_unit.digest_hash[:half]
                            m.d.sync += [digest_sum[:half].eq(low), low_carry.eq(low[half]),
                                         high_due.eq(1), count.eq(count + 1), phase.eq(WAIT)]
                    with m.Elif(scan.holding & out_free):
                        m.d.comb += [rsp.status.eq(Status.OK), rsp.more.eq(1),
                                     rsp.coord.eq(pattern.lo), rsp.value.eq(store.stored),
                                     send.eq(1)]
                        m.d.sync += [count.eq(count + 1), phase.eq(WAIT)]
                with m.Case(FINAL):
                    m.d.comb += [rsp.status.eq(Status.OK), rsp.aux.eq(count)]
                    if digest:
                        m.d.comb += rsp.value.eq(Mux(c.op == Op.CDIGEST, digest_sum, 0))
                    with m.If(out_free):
                        m.d.sync += [phase.eq(WAIT), count.eq(0)]
                        if digest:
                            m.d.sync += digest_sum.eq(0)
        return phase == FINAL

    def elaborate(self, platform):
        m = Module()
        W, VW, E = self.width, self.value_width, self.entry_bits
        rows = h3_rows(self.seed, DIMS * W, HASH_WIDTH)
        ranges = bool(self.ops & RANGE_OPS)

        entry_id = Signal(E, reset_less=True)         # the hit, or the new key's id
        if self.hold:
            c = self.i.payload
        else:
            c = Signal(self.i.payload.shape(), reset_less=True)
        if self.spram:
            m.submodules.store = store = SerialEntryStore(entries=self.entries, width=W,
                                                          value_width=VW)
        elif self.pipelined:
            store_addr, store_r, store_k, key_we, value_we = self._split_store(m, c, entry_id,
                                                                              ranges)
        else:
            store_w, store_r, *store_k = table_ports(m, sets=self.sets, ways=1, width=W,
                                                     value_width=VW,
                                                     second_read=ranges and not self.scan)
            # the write and the sequencer's reads at one address (never both in
            # a clock): one port of the block RAM, the other left to the index
            store_addr = Signal.like(store_r.addr)
            m.d.comb += [store_w.addr.eq(store_addr), store_r.addr.eq(store_addr)]
        routes = None
        if self.bit_serial and self.ops & {Op.CROUTE, Op.CRTSET}:
            # the table in one block RAM, a component a clock (the HX8K has
            # none to spare for ten 16-bit-wide ones)
            m.submodules.routes = routes = SerialRoutes(W)
            route_w = route_r = None
        else:
            route_w, route_r = route_table(m, W)
        if ranges and self.spram:
            m.submodules.zindex = zindex = SerialScan(entries=self.entries, width=W)
        elif ranges and self.scan:
            m.submodules.zindex = zindex = ZScan(slots=max(2, 1 << E), width=W,
                                                 registered=self.registered)
            # the scan reads through the sequencer's port, which is its own
            # while the range walk waits for a hit
            with m.If(zindex.entries.en):
                m.d.comb += [store_addr.eq(zindex.entries.addr), store_r.en.eq(1)]
            m.d.comb += [zindex.entries.data.valid.eq(store_r.data[0].valid),
                         zindex.entries.data.key.eq(store_r.data[0].key)]
        elif ranges:
            m.submodules.zindex = zindex = ZIndex(slots=max(2, 1 << E), width=W, queue=self.index_queue,
                                                 shared_keys=True, serial_regions=self.serial_regions)
            keys, = store_k
            m.d.comb += [keys.addr.eq(zindex.keys.addr), keys.en.eq(zindex.keys.en),
                         zindex.keys.data.eq(keys.data[0].key)]
        m.submodules.index = index = HashIndex(buckets=self.buckets, slots=self.slots,
                                               entry_bits=E, max_moves=self.max_moves,
                                               probe=self.pipelined, slotted=self.spram,
                                               registered=self.registered)
        if not self.spram:
            # (the serial store's entry is at its slot's place: no ids to hand out)
            m.submodules.free = free = Memory(shape=E, depth=self.entries, init=[])
            free_w, free_r = free.write_port(), free.read_port(transparent_for=())
            freed = Signal(range(self.entries + 1))       # ids on the free stack
            fresh = Signal(range(self.entries + 1))       # ids never used: fresh..entries-1
            popped = Signal()                             # the new key's id is off the free stack
        ranges = bool(self.ops & RANGE_OPS)

        # --- the instruction ---------------------------------------------------
        taking = Signal()                             # an instruction transfers in
        if self.pipelined:
            # the stages S1 and S2 (``c`` and ``h`` are S3's, which the FSM
            # states beside IDLE work on)
            c1 = Signal(self.i.payload.shape(), reset_less=True)
            c2 = Signal(self.i.payload.shape(), reset_less=True)
        if self.hashed:
            h = c.hash
            if self.pipelined:
                h1, h2 = c1.hash, c2.hash
        elif self.bit_serial:
            # the instruction's key holds in ``c`` while it is hashed (HASH)
            digest_rows = None
            if self.spram and Op.CDIGEST in self.ops:
                # CDIGEST's hash of each hit, by the same unit (``_serial_range_walk``)
                digest_rows = h3_rows(DIGEST_SEED, DIMS * W + VW, DIGEST_WIDTH)
            m.submodules.hash_unit = hash_unit = SerialHashUnit(
                rows, key_width=DIMS * W, digest_rows=digest_rows, value_width=VW)
            m.d.comb += hash_unit.key.eq(c.coord)
            if digest_rows is not None:
                # the hit's key, where the pattern's lo was: behind the frame
                # decoder that is ``coord``'s flops (its fold), and this
                # multiplexer of a signal with itself goes
                with m.If(c.op == Op.CDIGEST):
                    m.d.comb += hash_unit.key.eq(c.pattern.lo)
            h = hash_unit.hash
        else:
            m.submodules.hash_unit = hash_unit = HashUnit(rows, key_width=DIMS * W)
            m.d.comb += [hash_unit.key.eq(self.i.payload.coord), hash_unit.en.eq(taking)]
            h = hash_unit.hash
            if self.pipelined:
                h1, h2 = hash_unit.hash, Signal(HASH_WIDTH, reset_less=True)
                h = Signal(HASH_WIDTH, reset_less=True)
        bucket_bits = self.buckets.bit_length() - 1

        def first_bucket(h):
            return h[self.sentron_bits:self.sentron_bits + bucket_bits]

        def tag_of(h):
            return h[TAG_SHIFT:TAG_SHIFT + TAG_BITS]
        first, tag = first_bucket(h), tag_of(h)

        # The pattern's checks (BAD_ARG; CHIER UP's wildcards), registered
        # where the bit-serial hash leaves 146 clocks before they are needed:
        # from the held instruction through nine magnitude compares to the
        # answer register was the HX8K's slowest path once the key compare
        # was registered (48.60 MHz; 55.58 with this), and the iCEBreaker's
        # (28.5 MHz built for 30; 78 logic cells more).
        bad_pattern = up_mask = None
        if self.bit_serial:
            bad_pattern, up_mask = Signal(), Signal(DIMS)
            m.d.sync += [bad_pattern.eq(pattern_bad(c.pattern)),
                         up_mask.eq(chier_up_mask(c.pattern.mask[:DIMS]))]

        out_free = ~self.o.valid | self.o.ready
        if routes is not None:
            m.d.comb += [routes.coord.eq(c.coord), routes.node.eq(c.arg),
                         routes.index.eq(c.mode), routes.count.eq(c.arg)]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        rsp = Signal(response_layout(W, VW))
        m.d.comb += [rsp.op.eq(c.op), rsp.tag.eq(c.tag), rsp.more.eq(0)]
        # Every answer leaves through one assignment: one per place it is
        # sent would be a 421-bit multiplexer each.
        send = Signal()
        with m.If(send):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(rsp)]
        if routes is not None:
            m.d.comb += routes.taken.eq(send)
        if self.hold:
            # a record (MORE) goes out through ``send`` too; the instruction with its final answer
            m.d.comb += self.i.ready.eq(send & ~rsp.more)

        if self.pipelined:
            v1, v2, v3 = Signal(), Signal(), Signal()     # the stages hold instructions
            s3_done = Signal()            # S3 answers, and the pipeline moves on
            pipe_go = Signal()            # S1 may read the index
            dirty = Signal()              # the FSM has changed the index ...
            reread = Signal()             # ... so S2 reads its rows again
            # The ids that the last two instructions answered deleted (a CDEL
            # the pipeline answers empties its slot as it answers, so the two
            # behind it may have read the slot before): a candidate at one of
            # them is no candidate.
            dead = [Signal(data.StructLayout({"valid": 1, "id": E}), name=f"dead{k}")
                    for k in range(2)]
            fast_delete = Signal()
            # S3's rows' empty slots (first bucket's, then second's), and a
            # new key S3 inserts itself: S2 then reads its rows again
            room = Signal(2 * self.slots, reset_less=True)
            refill = Signal()

        def answer(fast=False):
            """Send ``rsp`` once the output is free; then take the next
            instruction. ``fast``: S3's answer in the pipeline (IDLE)."""
            with m.If(out_free):
                m.d.comb += send.eq(1)
                m.next = "IDLE"
                if self.pipelined:
                    # After the FSM changed the index S2 reads its rows again
                    # first, and the stale ones are gone; otherwise the pipeline
                    # moves on in this clock.
                    with m.If(dirty | refill):
                        # (and S1 reads none in the clock they are written)
                        m.d.comb += pipe_go.eq(0)
                        m.d.sync += [v3.eq(0), reread.eq(v2), dirty.eq(0),
                                     dead[0].eq(0), dead[1].eq(0)]
                    with m.Else():
                        m.d.comb += [s3_done.eq(1), pipe_go.eq(1)]
                        m.d.sync += [dead[1].eq(dead[0]), dead[0].id.eq(entry_id),
                                     dead[0].valid.eq(fast_delete if fast else 0)]

        # CMOE and CROUTE HASH: multiply-high of 16 hash bits by n, a byte of n a product
        product_lo, product_hi = Signal(24, reset_less=True), Signal(24, reset_less=True)
        def reduce_bits_of(c, h):
            return Mux(c.op == Op.CMOE, h[32:48], h[16:32])
        reduce_bits = reduce_bits_of(c, h)
        if self.bit_serial:
            # shift and add (MULTIPLY): the multiplier's bits leave the low half
            # as the product's come in from the top, a bit a clock
            product = Signal(33, reset_less=True)
            product_step = Signal(range(17))
            reduced = product[16:32]
        else:
            reduced = (product_lo + (product_hi << 8))[16:32]
        # the instruction holds still from IDLE through HASH's clocks: CDELTA's
        # overflow test registered (its carry chains and the OR of their top
        # bits into the answer register were an iCEBreaker slowest path)
        settled = None
        if self.bit_serial and Op.CDELTA in self.ops:
            settled = settled_cdelta(m, c, W)

        candidates = Signal(2 * self.slots)           # lookup's tag matches not yet read
        if self.spram:
            # the candidates' ids are their places in the key's two buckets
            second = index.other(first, tag)
            found_ids = Signal(data.ArrayLayout(E, 2 * self.slots))
            m.d.comb += [found_ids[k].eq(index.place(first if k < self.slots else second,
                                                     k % self.slots))
                         for k in range(2 * self.slots)]
        else:
            found_ids = Signal.like(index.o.payload.entries, reset_less=True)
        candidate = Signal(range(2 * self.slots))
        if self.spram:
            m.d.comb += [store.key.eq(c.coord), store.value.eq(c.operand[:VW])]
        elif self.pipelined:
            entry = store_r.data[0]
        else:
            entry = store_r.data[0]
            new_entry = store_w.data[0]
            m.d.comb += [new_entry.valid.eq(1), new_entry.key.eq(c.coord),
                         new_entry.value.eq(c.operand[:VW])]

        def read_entry(entry_id):
            """Start reading (the serial store: comparing) entry ``entry_id``."""
            if self.spram:
                m.d.comb += [store.id.eq(entry_id), store.lookup.eq(1)]
            else:
                m.d.comb += [store_addr.eq(entry_id), store_r.en.eq(1)]

        def write_entry(valid, key=True):
            """Write the command's key and value into entry ``entry_id`` (or clear
            it); the serial store writes the value, or the valid bit, here. The
            split store has no valid bit (a freed entry is in no index slot),
            and writes the key only when ``key`` (a new one)."""
            if self.pipelined:
                if valid:
                    m.d.comb += value_we.eq(1)
                    if key:
                        m.d.comb += [store_addr.eq(entry_id), key_we.eq(1)]
            elif self.spram:
                m.d.comb += [store.id.eq(entry_id),
                             (store.write_value if valid else store.invalidate).eq(1)]
            else:
                m.d.comb += [store_addr.eq(entry_id), store_w.en.eq(1)]
                if not valid:
                    m.d.comb += new_entry.valid.eq(0)

        point = Cat(*(c.op == op for op in (Op.CGET, Op.CPUT, Op.CDEL) if op in self.ops)).any()
        index_cmd = index.i.payload
        m.d.comb += [index_cmd.bucket.eq(first), index_cmd.tag.eq(tag), index_cmd.entry.eq(entry_id)]
        m.d.comb += index.o.ready.eq(1)
        if self.pipelined:
            with m.If(index.i.valid & index.i.ready):
                m.d.sync += dirty.eq(1)

        # a Z-order index to keep up to date (not a scan's)
        indexed = ranges and not (self.scan or self.spram)
        if indexed:
            update = zindex.update
            m.d.comb += [update.payload.key.eq(c.coord), update.payload.slot.eq(entry_id)]
        if ranges and self.spram:
            range_active = Signal()
            range_done = self._serial_range_walk(m, zindex, store, range_active, c, rsp, send,
                                                 out_free, hash_unit)
        elif ranges:
            range_active = Signal()
            def emit(record):
                m.d.comb += [rsp.eq(record), send.eq(1)]
            store_port = SimpleNamespace(addr=store_addr, en=store_r.en, data=store_r.data)
            range_done = range_walk(m, zindex, store_port, range_active, c, rsp, out_free, emit,
                                    out_free, Const(0, 1), 0, ways=1, width=W, value_width=VW,
                                    digest=Op.CDIGEST in self.ops and
                                    ("serial" if self.scan else True))

        def offer_to_index(delete):
            """Offer the key (and its entry id) to the Z-order index while the
            answer can go out; returns whether the index takes it."""
            if not indexed:
                return Const(1)
            m.d.comb += [update.valid.eq(out_free), update.payload.delete.eq(delete)]
            return update.ready

        def hit(fast=False):
            """The key is at ``entry_id`` (its entry on the read port)."""
            with m.Switch(c.op):
                with m.Case(Op.CGET):
                    m.d.comb += [rsp.status.eq(Status.OK),
                                 rsp.value.eq(store.stored if self.spram else entry.value)]
                    answer(fast)
                with m.Case(Op.CPUT):
                    m.d.comb += [rsp.status.eq(Status.OK)]
                    with m.If(out_free):
                        write_entry(valid=1, key=False)
                    answer(fast)
                with m.Case(Op.CDEL):
                    if fast:
                        # empty the slot, free the id, queue the delete: as
                        # REMOVE and FREE do, in one clock
                        m.d.comb += [rsp.status.eq(Status.OK), fast_delete.eq(1)]
                        with m.If(out_free & offer_to_index(delete=1)):
                            poke(candidate)
                            m.d.comb += [free_w.addr.eq(freed), free_w.data.eq(entry_id),
                                         free_w.en.eq(1)]
                            m.d.sync += freed.eq(freed + 1)
                            answer(fast)
                    else:
                        m.d.comb += [index_cmd.op.eq(IndexOp.REMOVE), index.i.valid.eq(1)]
                        with m.If(index.i.ready):
                            m.next = "REMOVE"

        def execute(fast=False):
            """The instructions that touch no memory, and the decoder's errors.
            ``fast``: in S3 (IDLE), for the pipeline."""
            scan_done = Const(1)
            with m.If(c.error != Status.OK):
                m.d.comb += rsp.status.eq(c.error)
            with m.Else():
                m.d.comb += rsp.status.eq(Status.BAD_OPCODE)
                with m.Switch(c.op):
                    table_free_cases(m, c, rsp, self.ops, ranges=ranges, reduced=reduced,
                                     bad_pattern=bad_pattern, up_mask=up_mask,
                                     route_w=route_w, route_write=out_free, width=W,
                                     routes=routes, settled=settled)
                    if Op.CROUTE in self.ops:
                        with m.Case(Op.CROUTE):
                            scan_done = croute(m, c, rsp, route_r, out_free,
                                               v3 if fast else Const(1), reduced, W,
                                               routes=routes)
            # a CROUTE RANGE answers when its scan of the route table is done
            # (and with ``routes`` a CRTSET when its words are written); one
            # the decoder flagged (a bad CRC keeps its fields) scans nothing
            done = ~scans(c, self.ops) | scan_done
            if Op.CROUTE in self.ops:
                done |= c.error != Status.OK
            if routes is not None and Op.CRTSET in self.ops:
                done &= ~routes.write | routes.done
            with m.If(done):
                answer(fast)

        # a freed id only once the Z-order index holds no key at it (above)
        reusable = zindex.idle if indexed else Const(1)

        def poke(at):
            """Write slot ``at`` of the key's two buckets (the first's, then the
            second's) with ``index.poke_item`` (empty unless set)."""
            in_second = at >= self.slots
            m.d.comb += [index.poke_en.eq(1),
                         index.poke_bucket.eq(Mux(in_second, index.other(first, tag), first)),
                         index.poke_slot.eq(Mux(in_second, at - self.slots, at))]

        if self.pipelined:
            # A new key with room in the rows S2 read goes in from S3, in one
            # clock, when MISS would give it a never-used id (below) and no
            # slot was emptied behind S2's back (``dead``, which would be the
            # model's lower empty slot): the index slot, the entry, the
            # Z-order index's queue. ``entry_id`` is the next never-used id
            # (S2 set it: no slot has the key's tag).
            quick_insert = Signal()
            m.d.comb += quick_insert.eq((candidates == 0) & room.any() & ~dead[0].valid &
                                        ~dead[1].valid & (entry_id == fresh) &
                                        (fresh != self.entries) & ~((freed != 0) & reusable))

            def insert_now():
                m.d.comb += rsp.status.eq(Status.OK)
                with m.If(out_free & offer_to_index(delete=0)):
                    poke(first_one(list(room)))
                    m.d.comb += [index.poke_item.valid.eq(1), index.poke_item.tag.eq(tag),
                                 index.poke_item.entry.eq(entry_id), refill.eq(1)]
                    write_entry(valid=1)
                    m.d.sync += fresh.eq(fresh + 1)
                    answer(fast=True)

        with m.FSM():
            if self.pipelined:
                with m.State("IDLE"):
                    m.d.comb += pipe_go.eq(1)
                    # S3: the instruction the FSM's other states work on, if
                    # the pipeline cannot answer it (``s3_done`` when it does)
                    executes = Signal()
                    walks = goes_to_index(c, self.ops) if ranges else Const(0)
                    m.d.comb += executes.eq((c.error != Status.OK) | ~(point | walks))
                    with m.If(v3):
                        with m.If(executes):
                            execute(fast=True)
                        with m.Elif(point):
                            dead_slots = Cat(*(
                                Cat(*(d.valid & (d.id == found_ids[k]) for d in dead)).any()
                                for k in range(2 * self.slots)))
                            live = candidates & ~dead_slots
                            same = live.bit_select(candidate, 1) & \
                                (Value.cast(entry.key) == Value.cast(c.coord))
                            others = live & ~(1 << candidate)
                            with m.If(same):
                                hit(fast=True)
                            with m.Elif(others.any()):
                                # another slot has the tag: the FSM reads its entry
                                m.d.sync += candidates.eq(others)
                                m.next = "CANDIDATE"
                            with m.Elif((c.op == Op.CPUT) & quick_insert):
                                insert_now()
                            with m.Elif(c.op == Op.CPUT):
                                m.next = "MISS"
                            with m.Else():
                                m.d.comb += rsp.status.eq(Status.NOT_FOUND)
                                answer(fast=True)
                        with m.Else():
                            m.next = "RANGE"
            else:
                with m.State("IDLE"):
                    m.d.comb += taking.eq(self.i.valid)
                    if not self.hold:
                        m.d.comb += self.i.ready.eq(1)
                    with m.If(self.i.valid):
                        if not self.hold:
                            m.d.sync += c.eq(self.i.payload)
                        m.next = "HASH" if self.bit_serial else "DECODE"
                if self.bit_serial:
                    with m.State("HASH"):
                        m.d.comb += hash_unit.run.eq(1)
                        with m.If(~hash_unit.busy):
                            m.next = "DECODE"
                with m.State("DECODE"):
                    if self.bit_serial:
                        m.d.sync += [product.eq(c.arg), product_step.eq(0)]
                    else:
                        m.d.sync += [product_lo.eq(reduce_bits * c.arg[:8]),
                                     product_hi.eq(reduce_bits * c.arg[8:])]
                    with m.If(c.error != Status.OK):
                        m.next = "EXECUTE"
                    with m.Elif(point):
                        m.d.comb += [index_cmd.op.eq(IndexOp.LOOKUP), index.i.valid.eq(1)]
                        with m.If(index.i.ready):
                            m.next = "LOOKUP"
                    with m.Elif(goes_to_index(c, self.ops, bad_pattern) if ranges else Const(0)):
                        m.next = "RANGE"
                    if self.bit_serial:
                        with m.Elif(Cat(*(c.op == op for op in (Op.CMOE, Op.CROUTE)
                                          if op in self.ops)).any()):
                            m.next = "MULTIPLY"
                    with m.Else():
                        m.next = "EXECUTE"
                if self.bit_serial:
                    with m.State("MULTIPLY"):
                        with m.If(product_step != 16):
                            high = product[16:] + Mux(product[0], reduce_bits, 0)
                            m.d.sync += [product.eq(Cat(product[1:16], high)),
                                         product_step.eq(product_step + 1)]
                        with m.Else():
                            m.next = "EXECUTE"

            def next_candidate(cands, ids):
                """Read the lowest candidate's entry (the serial store: compare
                it), or conclude a miss."""
                lowest = Signal(range(2 * self.slots))
                for k in reversed(range(2 * self.slots)):
                    with m.If(cands[k]):
                        m.d.comb += lowest.eq(k)
                with m.If(cands.any()):
                    read_entry(ids[lowest])
                    m.d.sync += [candidates.eq(cands), candidate.eq(lowest),
                                 entry_id.eq(ids[lowest])]
                    if not self.spram:
                        m.d.sync += found_ids.eq(ids)
                    m.next = "COMPARE"
                with m.Else():
                    m.next = "MISS"

            if not self.pipelined:
                with m.State("LOOKUP"):
                    with m.If(index.o.valid):
                        if self.spram:
                            # the UP5K has no logic cells to spare for a second pick
                            m.d.sync += candidates.eq(index.o.payload.found)
                            m.next = "CANDIDATE"
                        else:
                            next_candidate(index.o.payload.found, index.o.payload.entries)
            with m.State("CANDIDATE"):
                next_candidate(candidates, found_ids)

            def judge(same):
                """The candidate's entry holds the key (``same``) or not."""
                with m.If(same):
                    if self.spram:
                        m.next = "HIT"    # the value's word is on the port a clock later
                    else:
                        hit()             # the entry holds on the read port meanwhile
                with m.Else():
                    m.d.sync += candidates.eq(candidates & ~(1 << candidate))
                    m.next = "CANDIDATE"

            with m.State("COMPARE"):
                if self.spram:
                    with m.If(store.done):
                        judge(store.match)
                else:
                    same = entry.valid & (Value.cast(entry.key) == Value.cast(c.coord))
                    if self.pipelined:
                        judge(same)
                    else:
                        # One at a time from block RAM the compare is registered
                        # before the state machine acts on it, a clock more a
                        # candidate: from the read port through the 144-bit
                        # compare and the choice back to the store's address
                        # was the HX8K's slowest path (45.67 MHz placed for 60).
                        if self.registered:
                            # the compare in 36-bit slices, their verdicts
                            # ANDed in VERDICT: the 144-bit compare behind the
                            # block RAM's output was 10.8 logic levels
                            key, coord = Value.cast(entry.key), Value.cast(c.coord)
                            # (each named by its first bit)
                            slices = [Signal(name=f"matched{k}") for k in range(0, len(key), 36)]
                            m.d.sync += [part.eq(key[k * 36:][:36] == coord[k * 36:][:36])
                                         for k, part in enumerate(slices)]
                            read_valid = Signal()
                            m.d.sync += read_valid.eq(entry.valid)
                            matched = Cat(read_valid, *slices).all()
                        else:
                            matched = Signal()
                            m.d.sync += matched.eq(same)
                        m.next = "VERDICT"
            if not (self.spram or self.pipelined):
                with m.State("VERDICT"):
                    judge(matched)

            if self.spram:
                with m.State("HIT"):
                    hit()
            with m.State("REMOVE"):
                with m.If(index.o.valid):
                    m.next = "FREE"
            with m.State("FREE"):
                # the entry goes (valid clear), its id onto the free stack, the
                # key out of the Z-order index
                m.d.comb += rsp.status.eq(Status.OK)
                with m.If(out_free & offer_to_index(delete=1)):
                    write_entry(valid=0)
                    if not self.spram:
                        m.d.comb += [free_w.addr.eq(freed), free_w.data.eq(entry_id),
                                     free_w.en.eq(1)]
                        m.d.sync += freed.eq(freed + 1)
                    answer()

            def take_id():
                """A new key's entry id: off the free stack (POP), else never used."""
                m.d.comb += free_r.addr.eq(freed - 1)
                with m.If((freed != 0) & reusable):
                    m.d.sync += popped.eq(1)
                    m.next = "POP"
                with m.Elif(fresh != self.entries):
                    m.d.sync += [entry_id.eq(fresh), popped.eq(0)]
                    m.next = "INSERT"
                with m.Elif(freed != 0):
                    pass                  # the index is applying deletes: wait
                with m.Else():
                    m.d.comb += rsp.status.eq(Status.TABLE_FULL)
                    answer()

            with m.State("MISS"):
                with m.If(c.op == Op.CPUT):
                    if self.spram:
                        m.next = "INSERT"     # the slot the index finds is the entry
                    else:
                        take_id()
                with m.Else():
                    m.d.comb += rsp.status.eq(Status.NOT_FOUND)
                    answer()
            if not self.spram:
                with m.State("POP"):
                    m.d.sync += entry_id.eq(free_r.data)
                    m.next = "INSERT"
            with m.State("INSERT"):
                m.d.comb += [index_cmd.op.eq(IndexOp.INSERT), index.i.valid.eq(1)]
                with m.If(index.i.ready):
                    m.next = "PLACED"
            with m.State("PLACED"):
                with m.If(index.o.valid):
                    with m.If(index.o.payload.status == Status.OK):
                        if self.spram:
                            # the key's place; the entry there, if a slot
                            # moved, goes first (RELOCATE), then the key's
                            # words (WRITE_KEY), then STORE writes the value's
                            placed = index.o.payload.placed
                            m.d.sync += entry_id.eq(placed)
                            with m.If(index.o.payload.moves != 0):
                                m.d.comb += [store.id.eq(placed), store.move.eq(1),
                                             store.to.eq(index.o.payload.moved_to)]
                                m.next = "RELOCATE"
                            with m.Else():
                                m.d.comb += [store.id.eq(placed), store.write_key.eq(1)]
                                m.next = "WRITE_KEY"
                        else:
                            m.next = "STORE"
                    with m.Else():
                        m.next = "REFUSED"
            if self.spram:
                with m.State("RELOCATE"):
                    with m.If(~store.busy):
                        m.d.comb += [store.id.eq(entry_id), store.write_key.eq(1)]
                        m.next = "WRITE_KEY"
                with m.State("WRITE_KEY"):
                    with m.If(~store.busy):
                        m.next = "STORE"
            with m.State("REFUSED"):
                m.d.comb += rsp.status.eq(Status.TABLE_FULL)
                answer()
            with m.State("STORE"):
                # the id leaves the free list (not the serial store's), the
                # entry is written, the key queued for the Z-order index
                m.d.comb += rsp.status.eq(Status.OK)
                with m.If(out_free & offer_to_index(delete=0)):
                    write_entry(valid=1)
                    if not self.spram:
                        with m.If(popped):
                            m.d.sync += freed.eq(freed - 1)
                        with m.Else():
                            m.d.sync += fresh.eq(fresh + 1)
                    answer()

            with m.State("RANGE"):
                if ranges:
                    m.d.comb += range_active.eq(1)
                    with m.If(range_done):
                        answer()

            if not self.pipelined:
                with m.State("EXECUTE"):
                    execute()
        if self.pipelined:
            # Each stage moves on when the one after it is free or moves.
            # S1 reads its key's two index rows as it moves to S2 (while the
            # index's FSM is idle: in IDLE, or as S3's instruction answers),
            # and S2 its first candidate's entry as it moves to S3 (as S3
            # answers, from IDLE or another state).
            adv1, adv2 = Signal(), Signal()
            m.d.comb += [adv2.eq(v2 & (~v3 | s3_done) & ~reread),
                         adv1.eq(v1 & (~v2 | adv2) & pipe_go),
                         self.i.ready.eq(~v1 | adv1),
                         taking.eq(self.i.valid & self.i.ready)]
            with m.If(taking):
                m.d.sync += [c1.eq(self.i.payload), v1.eq(1)]
            with m.Elif(adv1):
                m.d.sync += v1.eq(0)
            m.d.comb += [index.probe_bucket.eq(Mux(reread, first_bucket(h2), first_bucket(h1))),
                         index.probe_tag.eq(Mux(reread, tag_of(h2), tag_of(h1))),
                         index.probe_en.eq(adv1 | reread)]
            with m.If(reread):
                m.d.sync += reread.eq(0)
            with m.If(adv1):
                m.d.sync += [c2.eq(c1), v2.eq(1)]
                if not self.hashed:
                    m.d.sync += h2.eq(h1)
            with m.Elif(adv2):
                m.d.sync += v2.eq(0)
            # S2: the slots of both buckets with the key's tag
            rows = index.probe_rows
            cands = Cat(*(rows[k].valid & (rows[k].tag == tag_of(h2))
                          for k in range(2 * self.slots)))
            lowest = first_one(list(cands))
            with m.If(adv2):
                read_entry(rows[lowest].entry)
                reduce2 = reduce_bits_of(c2, h2)
                m.d.sync += [c.eq(c2), v3.eq(1), candidates.eq(cands), candidate.eq(lowest),
                             # no slot with the tag: the id a new key would take
                             entry_id.eq(Mux(cands.any(), rows[lowest].entry, fresh)),
                             room.eq(Cat(*(~rows[k].valid for k in range(2 * self.slots)))),
                             product_lo.eq(reduce2 * c2.arg[:8]),
                             product_hi.eq(reduce2 * c2.arg[8:])]
                m.d.sync += [found_ids[k].eq(rows[k].entry) for k in range(2 * self.slots)]
                if not self.hashed:
                    m.d.sync += h.eq(h2)
            with m.Elif(s3_done):
                m.d.sync += v3.eq(0)

        return m

    def _split_store(self, m, c, entry_id, ranges):
        """The pipelined sentron's entry store: keys and values in memories of
        their own, so that S2 reads an entry while S3 writes a value (at
        ``entry_id``). The key is written (``key_we``) only by an insert, which
        the FSM makes while S2 waits, through the read's port at its address
        (``addr``); the other port is the Z-order index's. No valid bit: an entry
        no index slot points at is never read as a key's. Returns the address,
        the read port (``addr``, ``en``, ``data[0]``: an entry a clock later), the
        Z-order index's key ports, and the two write enables."""
        W, VW = self.width, self.value_width
        # read-during-write never reaches a compare (below): ``no_rw_check``, as
        # in ``table_ports`` (``registered_read``)
        keys = Memory(shape=coord_layout(W), depth=self.entries, init=[],
                      attrs={"no_rw_check": 1})
        values = Memory(shape=VW, depth=self.entries, init=[], attrs={"no_rw_check": 1})
        m.submodules.keys, m.submodules.values = keys, values
        addr, en = Signal(self.entry_bits), Signal()
        key_we, value_we = Signal(), Signal()
        key_w, value_w = keys.write_port(), values.write_port()
        m.d.comb += [key_w.addr.eq(addr), key_w.en.eq(key_we), key_w.data.eq(c.coord),
                     value_w.addr.eq(entry_id), value_w.en.eq(value_we),
                     value_w.data.eq(c.operand[:VW])]

        key = registered_read(m, keys, addr=addr, en=en).data
        # a CPUT in S3 writes the value that S2 reads in the same clock when
        # the two have one key: S2 takes the new value
        value = registered_read(m, values, addr=addr, en=en,
                                bypass=(value_we & (entry_id == addr), value_w.data)).data
        entry = Signal(entry_layout(W, VW))
        m.d.comb += [entry.valid.eq(1), entry.key.eq(key), entry.value.eq(value)]
        store_k = []
        if ranges:
            index = registered_read(m, keys)
            store_k = [SimpleNamespace(addr=index.addr, en=index.en,
                                       data=[SimpleNamespace(key=index.data)])]
        return addr, SimpleNamespace(addr=addr, en=en, data=[entry]), store_k, key_we, value_we
