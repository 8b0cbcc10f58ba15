"""Z-order (Morton) helpers for gateware: interleave, compare, in-box test.

In fabric the Morton interleave is only wiring, so comparing two coordinates
in Z-order is one wide magnitude comparison of the rewired bits: no key is
ever stored interleaved. Bit b of component i lands at b*DIMS + (DIMS-1-i),
as in ``vtpu.coord.morton``.
"""

from amaranth.hdl import Cat

from vtpu.isa import DIMS

__all__ = ["morton_bits", "z_less", "z_less_equal", "in_box"]


def morton_bits(coord, width):
    """The interleaved bits of a ``coord_layout`` view, LSB first."""
    return Cat(*(coord[DIMS - 1 - k % DIMS][k // DIMS] for k in range(DIMS * width)))


def z_less(a, b, width):
    return morton_bits(a, width) < morton_bits(b, width)


def z_less_equal(a, b, width):
    return morton_bits(a, width) <= morton_bits(b, width)


def in_box(coord, lo, hi):
    """Every component within its inclusive [lo, hi]."""
    return Cat(*((lo[i] <= coord[i]) & (coord[i] <= hi[i]) for i in range(DIMS))).all()
