"""Coordinates, patterns and Z-order: the golden model's geometry.

A coordinate is a tuple of ``DIMS`` unsigned integers of ``width`` bits,
written ``a.b.c/d.e.f/g.h.i`` (library.shelf.series / collection.volume.book /
chapter.section.scroll). A pattern is a box: per component an exact value,
``*`` or an inclusive range ``[lo:hi]``.

Z-order (Morton order) interleaves the components' bits, most significant bit
first; within one bit level component 0 (library) is the most significant.
``morton`` builds the interleave; ``z_less`` compares without building it, as
the hardware does. ``bigmin``/``litmax`` are Tropf & Herzog's (1981) next /
previous Z-value inside a box.
"""

from dataclasses import dataclass

from .isa import COORD_WIDTH, DIMS

__all__ = [
    "CoordError", "Coord", "Pattern", "SymbolTable",
    "parse_coord", "format_coord", "parse_pattern", "format_pattern",
    "pack", "unpack", "morton", "unmorton", "z_less", "z_key_box",
    "in_box", "bigmin", "litmax", "l1", "add_delta", "max_value",
]

COMPONENT_NAMES = ("library", "shelf", "series", "collection", "volume", "book",
                   "chapter", "section", "scroll")

Coord = tuple  # DIMS ints; a plain tuple keeps the model fast and hashable


class CoordError(ValueError):
    """Bad coordinate or pattern text. ``component`` is the offending index."""

    def __init__(self, message, component=None):
        super().__init__(message)
        self.component = component


def max_value(width=COORD_WIDTH):
    return (1 << width) - 1


# --- Symbol table ----------------------------------------------------------------

class SymbolTable:
    """Interns labels (``person``, ``father``) to integers, one space per dimension.

    Numbers start at ``first`` so that interned labels stay inside the phext
    range 1..999 by default. The table is persisted with the data (``to_json``).
    """

    def __init__(self, first=1, width=COORD_WIDTH):
        self.first = first
        self.width = width
        self.to_int = [dict() for _ in range(DIMS)]
        self.to_label = [dict() for _ in range(DIMS)]

    def intern(self, dim, label):
        table = self.to_int[dim]
        if label not in table:
            number = self.first + len(table)
            if number > max_value(self.width):
                raise CoordError(f"component {dim + 1} ({COMPONENT_NAMES[dim]}): "
                                 f"symbol table for this dimension is full", dim)
            table[label] = number
            self.to_label[dim][number] = label
        return table[label]

    def lookup(self, dim, label):
        return self.to_int[dim].get(label)

    def label(self, dim, number):
        return self.to_label[dim].get(number)

    def to_json(self):
        return {"first": self.first, "dims": [dict(t) for t in self.to_int]}

    @classmethod
    def from_json(cls, data, width=COORD_WIDTH):
        table = cls(first=data.get("first", 1), width=width)
        for dim, labels in enumerate(data["dims"]):
            for label, number in labels.items():
                table.to_int[dim][label] = number
                table.to_label[dim][number] = label
        return table


# --- Text ---------------------------------------------------------------------

def _split(text):
    groups = text.strip().split("/")
    if len(groups) != 3:
        raise CoordError(f"coordinate {text!r}: expected 3 groups separated by '/', "
                         f"got {len(groups)}")
    parts = []
    for group in groups:
        parts.extend(group.split("."))
    if len(parts) != DIMS:
        raise CoordError(f"coordinate {text!r}: expected {DIMS} components "
                         f"(a.b.c/d.e.f/g.h.i), got {len(parts)}")
    return parts


def _component(text, dim, part, width, symbols, lo=0):
    where = f"coordinate {text!r}, component {dim + 1} ({COMPONENT_NAMES[dim]})"
    if part.isdigit():
        value = int(part)
    elif symbols is not None and part and (part[0].isalpha() or part[0] == "_"):
        value = symbols.intern(dim, part)
    else:
        raise CoordError(f"{where}: {part!r} is not a number", dim)
    if not lo <= value <= max_value(width):
        raise CoordError(f"{where}: {value} is outside {lo}..{max_value(width)}", dim)
    return value


def parse_coord(text, *, width=COORD_WIDTH, symbols=None, lo=0, hi=None):
    """``"2.1.3/4.7.11/18.29.47"`` -> ``(2, 1, 3, 4, 7, 11, 18, 29, 47)``.

    Labels are interned through ``symbols`` when one is given. ``lo``/``hi``
    narrow the accepted range (phext files use 1..999).
    """
    parts = _split(text)
    coord = tuple(_component(text, dim, part, width, symbols, lo) for dim, part in enumerate(parts))
    if hi is not None:
        for dim, value in enumerate(coord):
            if value > hi:
                raise CoordError(f"coordinate {text!r}, component {dim + 1} "
                                 f"({COMPONENT_NAMES[dim]}): {value} is outside {lo}..{hi}", dim)
    return coord


def format_coord(coord, symbols=None):
    def name(dim, value):
        if symbols is not None:
            label = symbols.label(dim, value)
            if label is not None:
                return label
        return str(value)
    c = [name(dim, value) for dim, value in enumerate(coord)]
    return f"{c[0]}.{c[1]}.{c[2]}/{c[3]}.{c[4]}.{c[5]}/{c[6]}.{c[7]}.{c[8]}"


@dataclass(frozen=True)
class Pattern:
    """A box: inclusive per-component ``lo``/``hi`` and a wildcard ``mask``.

    Bit i of ``mask`` set means component i is ``*``; its lo/hi are then
    0 and the maximum, so the box test never needs to look at the mask.
    """
    lo: tuple
    hi: tuple
    mask: int = 0

    @classmethod
    def exact(cls, coord):
        return cls(tuple(coord), tuple(coord), 0)

    @classmethod
    def make(cls, lo, hi, mask=0, width=COORD_WIDTH):
        """Build a pattern, forcing wildcard components to the full range."""
        top = max_value(width)
        lo = tuple(0 if mask >> i & 1 else v for i, v in enumerate(lo))
        hi = tuple(top if mask >> i & 1 else v for i, v in enumerate(hi))
        return cls(lo, hi, mask)

    def is_valid(self):
        return all(l <= h for l, h in zip(self.lo, self.hi))

    def contains(self, coord):
        return in_box(coord, self.lo, self.hi)


def parse_pattern(text, *, width=COORD_WIDTH, symbols=None):
    """``"1.2.*/[3:9].5.6/7.8.9"`` -> a Pattern. Labels resolve through ``symbols``."""
    parts = _split(text)
    lo, hi, mask = [], [], 0
    top = max_value(width)
    for dim, part in enumerate(parts):
        if part == "*":
            lo.append(0)
            hi.append(top)
            mask |= 1 << dim
        elif part.startswith("[") and part.endswith("]"):
            bounds = part[1:-1].split(":")
            if len(bounds) != 2:
                raise CoordError(f"pattern {text!r}, component {dim + 1} "
                                 f"({COMPONENT_NAMES[dim]}): range must be [lo:hi]", dim)
            l = _component(text, dim, bounds[0], width, symbols)
            h = _component(text, dim, bounds[1], width, symbols)
            if l > h:
                raise CoordError(f"pattern {text!r}, component {dim + 1} "
                                 f"({COMPONENT_NAMES[dim]}): empty range [{l}:{h}]", dim)
            lo.append(l)
            hi.append(h)
        else:
            v = _component(text, dim, part, width, symbols)
            lo.append(v)
            hi.append(v)
    return Pattern(tuple(lo), tuple(hi), mask)


def format_pattern(pattern, symbols=None):
    def name(dim, value):
        if symbols is not None:
            label = symbols.label(dim, value)
            if label is not None:
                return label
        return str(value)
    c = []
    for dim, (l, h) in enumerate(zip(pattern.lo, pattern.hi)):
        if pattern.mask >> dim & 1:
            c.append("*")
        elif l == h:
            c.append(name(dim, l))
        else:
            c.append(f"[{name(dim, l)}:{name(dim, h)}]")
    return f"{c[0]}.{c[1]}.{c[2]}/{c[3]}.{c[4]}.{c[5]}/{c[6]}.{c[7]}.{c[8]}"


# --- Packing and Z-order ------------------------------------------------------------

def pack(coord, width=COORD_WIDTH):
    """Coordinate -> integer, component 0 in the low bits (the frame byte order)."""
    value = 0
    for dim, component in enumerate(coord):
        value |= component << (dim * width)
    return value


def unpack(value, width=COORD_WIDTH):
    mask = max_value(width)
    return tuple((value >> (dim * width)) & mask for dim in range(DIMS))


def morton(coord, width=COORD_WIDTH):
    """The Z-order key: bit b of component i lands at b*DIMS + (DIMS-1-i)."""
    key = 0
    for bit in range(width - 1, -1, -1):
        for dim in range(DIMS):
            key = (key << 1) | ((coord[dim] >> bit) & 1)
    return key


def unmorton(key, width=COORD_WIDTH):
    coord = [0] * DIMS
    for bit in range(width):
        for dim in range(DIMS):
            if key >> (bit * DIMS + DIMS - 1 - dim) & 1:
                coord[dim] |= 1 << bit
    return tuple(coord)


def z_less(a, b):
    """``morton(a) < morton(b)`` without building the interleave.

    The component whose XOR has the highest set bit decides; at equal bit
    level the lower-numbered component is the more significant one.
    """
    best_dim, best_xor = -1, 0
    for dim in range(DIMS):
        x = a[dim] ^ b[dim]
        # x beats best_xor when its top bit is strictly higher.
        if x > best_xor and (best_xor ^ x) > best_xor:
            best_dim, best_xor = dim, x
    return best_dim >= 0 and a[best_dim] < b[best_dim]


def in_box(coord, lo, hi):
    return all(l <= c <= h for c, l, h in zip(coord, lo, hi))


def z_key_box(pattern, width=COORD_WIDTH):
    """The box's corners as Morton keys: every point inside lies between them."""
    return morton(pattern.lo, width), morton(pattern.hi, width)


def _bit_positions(width):
    # Interleaved bit position -> (dimension, bit of that component).
    return {bit * DIMS + DIMS - 1 - dim: (dim, bit) for bit in range(width) for dim in range(DIMS)}


def _load(key, position, value, width):
    """Tropf-Herzog LOAD: set bit ``position`` of its dimension to ``value``
    and every lower bit of that dimension to the opposite."""
    dim, bit = _bit_positions(width)[position]
    for b in range(bit, -1, -1):
        p = b * DIMS + DIMS - 1 - dim
        want = value if b == bit else 1 - value
        key = (key | (1 << p)) if want else (key & ~(1 << p))
    return key


def bigmin(z, zmin, zmax, width=COORD_WIDTH):
    """Smallest Morton key > ``z`` inside the box [zmin, zmax] (Morton corners).

    Returns None when there is none. Tropf & Herzog's decision table, scanning
    the interleaved bits from the most significant.
    """
    result = None
    for position in range(DIMS * width - 1, -1, -1):
        zb, lb, hb = (z >> position) & 1, (zmin >> position) & 1, (zmax >> position) & 1
        if (zb, lb, hb) == (0, 0, 1):
            result = _load(zmin, position, 1, width)
            zmax = _load(zmax, position, 0, width)
        elif (zb, lb, hb) == (0, 1, 1):
            return zmin
        elif (zb, lb, hb) == (1, 0, 0):
            return result
        elif (zb, lb, hb) == (1, 0, 1):
            zmin = _load(zmin, position, 1, width)
        elif (zb, lb, hb) in ((0, 1, 0), (1, 1, 0)):
            raise ValueError("bigmin: zmin is above zmax")
    return result


def litmax(z, zmin, zmax, width=COORD_WIDTH):
    """Largest Morton key < ``z`` inside the box [zmin, zmax]; None when none."""
    result = None
    for position in range(DIMS * width - 1, -1, -1):
        zb, lb, hb = (z >> position) & 1, (zmin >> position) & 1, (zmax >> position) & 1
        if (zb, lb, hb) == (0, 0, 1):
            zmax = _load(zmax, position, 0, width)
        elif (zb, lb, hb) == (0, 1, 1):
            return result
        elif (zb, lb, hb) == (1, 0, 0):
            return zmax
        elif (zb, lb, hb) == (1, 0, 1):
            result = _load(zmax, position, 0, width)
            zmin = _load(zmin, position, 1, width)
        elif (zb, lb, hb) in ((0, 1, 0), (1, 1, 0)):
            raise ValueError("litmax: zmin is above zmax")
    return result


def l1(a, b):
    return sum(abs(x - y) for x, y in zip(a, b))


def add_delta(coord, delta, width=COORD_WIDTH):
    """Component-wise signed add; None if any component leaves 0..2^W-1."""
    top = max_value(width)
    out = tuple(c + d for c, d in zip(coord, delta))
    if any(not 0 <= v <= top for v in out):
        return None
    return out
