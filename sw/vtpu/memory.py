"""Sentron memory: which stored key sits where, and when a new key is refused.

The golden model keeps its (coordinate, value) pairs in a dict; a memory
decides only *placement*: whether a new key fits (``insert`` returns False for
TABLE_FULL, and then nothing has changed) and what a delete frees. Two
memories, both exactly as the gateware builds them (docs/isa.md states both):

``CuckooMemory``, the sentron memory (MemC3-style, Fan et al. 2013), per sentron:

* an **entry store** of ``entries`` (key, value) entries addressed by an entry
  id, with a free list (a stack: a delete's id is the next one reused; ids
  never seen are handed out from 0 upward);
* a **hash index**: ``buckets`` buckets of ``slots`` slots, each slot empty or
  (tag, entry id). A key's hash ``h = table_hash(key)`` gives its sentron
  ``h[0:sentron_bits]``, its first bucket ``b1 = h[sentron_bits:][:bucket_bits]``
  and its 16-bit tag ``t = h[32:48]``; its second bucket is
  ``alt(b1, t) = b1 ^ ((t | 1) mod buckets)``. ``alt`` needs only the tag, so
  a slot can move to its other bucket without reading its key back, and
  ``alt(alt(b, t), t) == b``;
* the Z-order index, over entry ids (``vtpu.zindex`` is the model's view of it).

Insertion of a new key (the key is known to be absent):

1. no free entry: TABLE_FULL;
2. the lowest empty slot of ``b1``, else of ``b2``, takes (t, id);
3. else a breadth-first search for a cuckoo path of at most ``max_moves``
   moves. The search visits buckets in order: ``b1``, ``b2`` (depth 0), then
   their children, and so on; a bucket's children are, slot by slot in
   ascending order, the other bucket of the slot's tag. The first child with
   an empty slot ends the search: each slot on the path moves into the next
   bucket's slot (the last into the child's lowest empty slot), from the end
   backwards, and the new key takes the root's freed slot. A child already
   on its own path is skipped. Buckets at depth ``max_moves - 1`` are the
   last whose children are tried;
4. no path: TABLE_FULL, and nothing has moved.

A lookup reads ``b1`` and ``b2`` and checks the key of every slot whose tag is
``t`` against the entry store (the tag only filters: two keys may share one).
Nothing is ever evicted. The defaults over-provision the index (twice as many
slots as entries, load 50% when the store is full), so it is the entry store
that fills; an index of as many slots as entries shows relocations and the
search bound (``make sim`` runs one).

``SetAssociative``: ``sets`` x ``ways`` slots per sentron, a key's set
``h[0:set_bits]`` and sentron ``h[set_bits:set_bits + sentron_bits]``; a new key
whose set is full is refused. The gateware's table until the cuckoo memory
replaces it; it refuses keys long before it is full (``make bench``,
``model.fill.set_associative``).
"""

from collections import Counter, deque

from .hash import table_hash
from .isa import COORD_WIDTH, TABLE_SEED

__all__ = ["CuckooMemory", "SetAssociative", "TAG_BITS", "TAG_SHIFT", "index_buckets"]

TAG_SHIFT = 32      # the tag is hash bits TAG_SHIFT .. TAG_SHIFT + TAG_BITS - 1
TAG_BITS = 16


def _is_pow2(n):
    return n > 0 and n & (n - 1) == 0


def index_buckets(entries, *, slots=4, buckets=None, max_moves=2):
    """Buckets of one sentron's index for ``entries`` entries: ``buckets``, checked,
    or by default twice as many slots as entries, in a power of two of buckets."""
    if buckets is None:
        buckets = max(2, 1 << (-(-2 * entries // slots) - 1).bit_length())
    if not _is_pow2(buckets) or buckets < 2 or slots < 1 or max_moves < 0:
        raise ValueError("buckets must be a power of two >= 2, slots >= 1, max_moves >= 0")
    return buckets


class CuckooMemory:
    """Entry stores, free lists and cuckoo hash indexes of ``sentrons`` sentrons."""

    kind = "cuckoo"

    def __init__(self, entries, *, sentrons=1, slots=4, buckets=None, max_moves=2,
                 width=COORD_WIDTH, seed=TABLE_SEED):
        if not _is_pow2(sentrons):
            raise ValueError("sentrons must be a power of two")
        if entries < sentrons or entries % sentrons:
            raise ValueError(f"{entries} entries do not split evenly over {sentrons} sentrons")
        per_sentron = entries // sentrons
        buckets = index_buckets(per_sentron, slots=slots, buckets=buckets, max_moves=max_moves)
        self.sentron_bits = sentrons.bit_length() - 1
        self.bucket_bits = buckets.bit_length() - 1
        if self.sentron_bits + self.bucket_bits > TAG_SHIFT:
            raise ValueError("sentron and bucket bits must fit below the tag (32 bits)")
        self.sentrons, self.per_sentron = sentrons, per_sentron
        self.buckets, self.slots, self.max_moves = buckets, slots, max_moves
        self.width, self.seed = width, seed
        # per sentron: the index (bucket -> list of slots, each None or (tag, id)),
        # the entry store's keys by id, the free stack and the next never-used id
        self.index = [[[None] * slots for _ in range(buckets)] for _ in range(sentrons)]
        self.keys = [[None] * per_sentron for _ in range(sentrons)]
        self.free = [[] for _ in range(sentrons)]
        self.fresh = [0] * sentrons
        self.where = {}                  # key -> (sentron, bucket, slot): the model's shortcut
        self.relocations = 0             # slots moved, all inserts so far
        self.reused = 0                  # inserts that took a freed id
        self.refused = Counter()         # "full" / "no_path" TABLE_FULLs so far

    @property
    def capacity(self):
        return self.sentrons * self.per_sentron

    def __len__(self):
        return len(self.where)

    def locate(self, key):
        """(sentron, first bucket, tag) of ``key``."""
        h = table_hash(key, self.width, self.seed)
        sentron = h & (self.sentrons - 1)
        tag = h >> TAG_SHIFT & ((1 << TAG_BITS) - 1)
        return sentron, h >> self.sentron_bits & (self.buckets - 1), tag

    def alt(self, bucket, tag):
        """The other bucket of a slot holding ``tag`` in ``bucket``."""
        return bucket ^ ((tag | 1) & (self.buckets - 1))

    def entry_id(self, key):
        """The entry id holding ``key`` (stored)."""
        s, b, j = self.where[key]
        return self.index[s][b][j][1]

    def _empty_slot(self, row):
        for j, slot in enumerate(row):
            if slot is None:
                return j
        return None

    def _path(self, s, roots):
        """The first cuckoo path, as [(bucket, slot), ..., (target bucket, empty slot)]."""
        index = self.index[s]
        # a node: the buckets of its path from a root, and the slots taken on the way
        queue = deque(((root,), ()) for root in roots)
        while queue:
            buckets, taken = queue.popleft()
            b = buckets[-1]
            depth = len(buckets) - 1
            if depth >= self.max_moves:
                continue
            for j, (tag, _) in enumerate(index[b]):
                child = self.alt(b, tag)
                if child in buckets:
                    continue
                empty = self._empty_slot(index[child])
                if empty is not None:
                    return list(zip(buckets, taken + (j,))) + [(child, empty)]
                queue.append((buckets + (child,), taken + (j,)))
        return None

    def insert(self, key):
        """Place a new ``key``: True, or False (TABLE_FULL) with nothing changed."""
        s, b1, tag = self.locate(key)
        if not self.free[s] and self.fresh[s] == self.per_sentron:
            self.refused["full"] += 1
            return False
        b2 = self.alt(b1, tag)
        index = self.index[s]
        place = None
        for b in (b1, b2):
            j = self._empty_slot(index[b])
            if j is not None:
                place = (b, j)
                break
        if place is None:
            path = self._path(s, (b1, b2))
            if path is None:
                self.refused["no_path"] += 1
                return False
            # move from the end backwards: each slot into the next one on the path
            for (b, j), (nb, nj) in reversed(list(zip(path, path[1:]))):
                index[nb][nj] = index[b][j]
                moved = self.keys[s][index[nb][nj][1]]
                self.where[moved] = (s, nb, nj)
                index[b][j] = None
                self.relocations += 1
            place = path[0]
        if self.free[s]:
            entry = self.free[s].pop()
            self.reused += 1
        else:
            entry = self.fresh[s]
            self.fresh[s] += 1
        b, j = place
        index[b][j] = (tag, entry)
        self.keys[s][entry] = key
        self.where[key] = (s, b, j)
        return True

    def remove(self, key):
        """Free ``key``'s slot and entry (``key`` stored)."""
        s, b, j = self.where.pop(key)
        entry = self.index[s][b][j][1]
        self.index[s][b][j] = None
        self.keys[s][entry] = None
        self.free[s].append(entry)


class SetAssociative:
    """``sentrons`` x ``sets`` x ``ways`` slots; a new key whose set is full is refused."""

    kind = "set_associative"

    def __init__(self, *, sets, ways, sentrons=1, width=COORD_WIDTH, seed=TABLE_SEED):
        if not (_is_pow2(sets) and _is_pow2(sentrons) and ways > 0):
            raise ValueError("sets and sentrons must be powers of two, ways positive")
        self.sets, self.ways, self.sentrons = sets, ways, sentrons
        self.width, self.seed = width, seed
        self.set_bits = sets.bit_length() - 1
        self.occupancy = Counter()       # (sentron, set) -> slots in use
        self.stored = 0

    @property
    def capacity(self):
        return self.sentrons * self.sets * self.ways

    def __len__(self):
        return self.stored

    def locate(self, key):
        """(sentron, set) that owns ``key``."""
        h = table_hash(key, self.width, self.seed)
        return (h >> self.set_bits) & (self.sentrons - 1), h & (self.sets - 1)

    def insert(self, key):
        where = self.locate(key)
        if self.occupancy[where] >= self.ways:
            return False
        self.occupancy[where] += 1
        self.stored += 1
        return True

    def remove(self, key):
        self.occupancy[self.locate(key)] -= 1
        self.stored -= 1
