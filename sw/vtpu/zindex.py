"""Z-order index: the golden model's stored coordinates, in Morton order.

The model keeps its data in a dict (coordinate -> value): right for point
instructions, but a box would have to scan every entry. This index is a second
view of the same keys: their Morton keys (``coord.morton``) in a sorted list,
each with its coordinate beside it.

The sorted list is read as an implicit crit-bit tree, the tree the hardware
walks (``rtl/sentron/zindex.py``). A subtree is a run ``keys[i:j]``. Its keys
share every Morton bit above the *crit bit*, the highest bit in which the run's
first and last keys differ, so its *region* is the box of coordinates those
shared bits reach: per component, the shared high bits followed by free low
bits, all 0 (the region's lo corner) or all 1 (its hi corner). The children
are the keys with the crit bit 0 and with it 1, split by one bisect. A run of
one key is a leaf; its region is the key.

``inside(lo, hi)`` walks the tree depth first, lower child first, so it yields
in ascending Z-order. A subtree whose region misses the box is skipped whole
(what Tropf and Herzog's BIGMIN does to a Z-ordered list: jump over Z-values
outside the box); one whose region lies inside the box is yielded whole
without testing its keys. The walk costs the results plus the subtrees along
the box's boundary, not the table size.

``nearest(q, k)`` is branch and bound on the same tree, best first. Subtrees
wait in a heap ordered by (their region's L1 lower bound, their first key's
position): the bound is, per component, how far ``q`` lies outside the
region's interval, summed; a leaf's bound is its distance. A child's entry is
never below its parent's (its region is inside the parent's, its run starts
no earlier), so subtrees come out in ascending entry order, and leaves in
ascending (distance, Z-order): the first ``k`` leaves out are the answer, and
every subtree still waiting is pruned: its bound is at least the k-th
distance, and on a tie it lies later in Z-order.
"""

from bisect import bisect_left
from heapq import heappop, heappush
from operator import and_, ge, gt, le, lt, or_

from .coord import in_box, morton
from .isa import COORD_WIDTH, DIMS

__all__ = ["ZIndex"]


class ZIndex:
    """Coordinates in ascending Z-order; box and nearest-neighbour walks."""

    def __init__(self, width=COORD_WIDTH):
        self.width = width
        self.keys = []       # Morton keys, ascending
        self.coords = []     # coords[i] is the coordinate whose key is keys[i]
        # Below crit bit b, component d keeps (b + 1 + d) // DIMS low bits free
        # (Morton bit p is bit p // DIMS of component DIMS-1 - p % DIMS):
        # high[b] masks each component's shared bits, low[b] its free ones.
        self.low = [tuple((1 << (b + 1 + d) // DIMS) - 1 for d in range(DIMS))
                    for b in range(DIMS * width)]
        self.high = [tuple(~free for free in low) for low in self.low]

    def __len__(self):
        return len(self.keys)

    def insert(self, coord):
        """Add ``coord`` (not already present; every component ``width`` bits)."""
        if any(c >> self.width for c in coord):     # also true of a negative component
            raise ValueError(f"{coord!r}: a component is outside 0..{2**self.width - 1}")
        key = morton(coord, self.width)
        i = bisect_left(self.keys, key)
        self.keys.insert(i, key)
        self.coords.insert(i, coord)

    def remove(self, coord):
        """Take out ``coord`` (present)."""
        i = bisect_left(self.keys, morton(coord, self.width))
        del self.keys[i], self.coords[i]

    # --- the implicit crit-bit tree --------------------------------------------

    def _crit(self, i, j):
        """The crit bit of the run ``keys[i:j]`` (two keys or more)."""
        return (self.keys[i] ^ self.keys[j - 1]).bit_length() - 1

    def _region(self, i, j):
        """(lo, hi) corners of the box the run ``keys[i:j]`` (non-empty) can reach."""
        coord = self.coords[i]
        if j - i == 1:
            return coord, coord
        crit = self._crit(i, j)
        return tuple(map(and_, coord, self.high[crit])), tuple(map(or_, coord, self.low[crit]))

    def _children(self, i, j):
        """The runs of the run ``keys[i:j]``'s keys with the crit bit 0 and 1."""
        crit = self._crit(i, j)
        m = bisect_left(self.keys, self.keys[j - 1] >> crit << crit, i, j)
        return (i, m), (m, j)

    def inside(self, lo, hi):
        """Stored coordinates inside the box ``lo..hi``, ascending Z-order."""
        stack = [(0, len(self.keys))] if self.keys else []
        while stack:
            i, j = stack.pop()
            if j - i == 1:
                if in_box(self.coords[i], lo, hi):
                    yield self.coords[i]
                continue
            rlo, rhi = self._region(i, j)
            if any(map(gt, rlo, hi)) or any(map(lt, rhi, lo)):
                continue                              # misses the box: skip it
            if all(map(ge, rlo, lo)) and all(map(le, rhi, hi)):
                yield from self.coords[i:j]           # inside the box: all of it
                continue
            left, right = self._children(i, j)
            stack += [right, left]

    def _bound(self, q, i, j):
        """L1 lower bound from ``q`` to the region of the run ``keys[i:j]``."""
        rlo, rhi = self._region(i, j)
        return sum(l - c if c < l else c - h if c > h else 0 for c, l, h in zip(q, rlo, rhi))

    def nearest(self, q, k):
        """The ``k`` stored coordinates nearest ``q`` by L1, ties in Z-order."""
        found = []
        heap = [(0, 0, len(self.keys))] if self.keys else []
        while heap and len(found) < k:
            bound, i, j = heappop(heap)
            if j - i == 1:
                found.append(self.coords[i])      # a leaf: its bound is its distance
                continue
            for child in self._children(i, j):
                heappush(heap, (self._bound(q, *child), *child))
        return found
