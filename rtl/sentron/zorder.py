"""Z-order (Morton) helpers for gateware: interleave, compare, in-box test.

In fabric the Morton interleave is only wiring, so comparing two coordinates
in Z-order is one wide magnitude comparison of the rewired bits: no key is
ever stored interleaved. Bit b of component i lands at b*DIMS + (DIMS-1-i),
as in ``vtpu.coord.morton``.

A 144-bit ``<`` becomes one 144-cell carry chain in Yosys, the slowest path
of the iCE40 builds (nextpnr: ~22 ns of logic on the HX8K). The comparison
here is split into chunks whose (less, equal) pairs are merged by a balanced
tree: a chunk-long carry chain plus log2(chunks) LUT levels. On the HX8K
(one placement seed each) 8-bit chunks gave 44.0 MHz, 16-bit 38.7, 4-bit 38.4.
"""

from amaranth.hdl import Cat, Const, Value

from vtpu.isa import DIMS

__all__ = ["morton_bits", "less_than", "less_than_parts", "merge_pairs", "merge_parts",
           "merge_groups", "z_less", "z_less_equal", "z_parts", "in_box"]


def _morton_list(coord, width):
    return [coord[DIMS - 1 - k % DIMS][k // DIMS] for k in range(DIMS * width)]


def morton_bits(coord, width):
    """The interleaved bits of a ``coord_layout`` view, LSB first."""
    return Cat(*_morton_list(coord, width))


def less_than_parts(a, b, *, chunk=8):
    """(less, equal) of each ``chunk``-bit slice of two equal-width values (or lists
    of bits, LSB first), least significant first: the first half of ``less_than``,
    for a pipeline that registers them before ``merge_parts``."""
    # Slices are cut from bit lists, not from one wide Cat: Amaranth's simulator
    # would rebuild the whole Cat for every slice.
    a, b = (v if isinstance(v, list) else list(Value.cast(v)) for v in (a, b))
    assert len(a) == len(b)
    parts = []
    for i in range(0, len(a), chunk):
        x, y = Cat(*a[i:i + chunk]), Cat(*b[i:i + chunk])
        parts.append((x < y, x == y))
    return parts


def merge_pairs(parts):
    """(less, equal) of the whole from the (less, equal) of its consecutive parts,
    least significant first, as a balanced tree: parts merged in groups, then
    the groups' results, give the same answer."""
    parts = list(parts)
    while len(parts) > 1:
        merged = []
        for k in range(0, len(parts) - 1, 2):
            (lo_less, lo_equal), (hi_less, hi_equal) = parts[k], parts[k + 1]
            merged.append((hi_less | (hi_equal & lo_less), hi_equal & lo_equal))
        if len(parts) % 2:
            merged.append(parts[-1])
        parts = merged
    return parts[0] if parts else (Const(0), Const(1))


def merge_groups(parts, group):
    """(less, equal) of each run of ``group`` consecutive parts: wider slices,
    for a pipeline that registers them and has fewer to merge after."""
    return [merge_pairs(parts[k:k + group]) for k in range(0, len(parts), group)]


def merge_parts(parts, *, or_equal=False):
    """``a < b`` (``a <= b``) from ``less_than_parts``, as a balanced tree."""
    less, equal = merge_pairs(parts)
    return less | equal if or_equal else less


def less_than(a, b, *, or_equal=False, chunk=8):
    """Unsigned ``a < b`` (``a <= b`` with ``or_equal``) of two equal-width values
    (or lists of bits, LSB first), as a tree over ``chunk``-bit slices."""
    return merge_parts(less_than_parts(a, b, chunk=chunk), or_equal=or_equal)


def z_less(a, b, width):
    return less_than(_morton_list(a, width), _morton_list(b, width))


def z_less_equal(a, b, width):
    return less_than(_morton_list(a, width), _morton_list(b, width), or_equal=True)


def z_parts(a, b, width):
    """``less_than_parts`` of two coordinates in Z-order."""
    return less_than_parts(_morton_list(a, width), _morton_list(b, width))


def in_box(coord, lo, hi):
    """Every component within its inclusive [lo, hi]."""
    return Cat(*((lo[i] <= coord[i]) & (coord[i] <= hi[i]) for i in range(DIMS))).all()
