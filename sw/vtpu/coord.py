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

Labels, one rule everywhere. A component written as a word (``person``) is a
label; labels exist only where a ``SymbolTable`` is kept (the Python client
keeps one; ``vtpu asm``/``vtpu run`` and the HTTP server keep none, and refuse
a word with a ``CoordError`` naming the component). A table interns labels
from the top of the component range downward (65535, 65534, ... for 16-bit
components), inside the label range ``2**(width-1) .. 2**width - 1``; while a
table is in use, a number in that range is refused in text (write the label)
and, in a tuple (the raw form), accepted only as the number of an interned
label. So a labelled coordinate never aliases a numbered one. Without a table
every number ``0 .. 2**width - 1`` is a plain number.
"""

import operator
from dataclasses import dataclass

from .isa import COORD_WIDTH, DIMS

__all__ = [
    "CoordError", "Coord", "Pattern", "SymbolTable",
    "parse_coord", "format_coord", "parse_pattern", "format_pattern", "to_coord",
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

    A dimension's labels take numbers from the top of its range downward: the
    first ``2**width - 1``, the next ``2**width - 2``, ..., never below
    ``base = 2**(width-1)``. ``base .. 2**width - 1`` is the label range;
    ``parse_coord`` and ``to_coord`` refuse plain numbers there while this
    table is in use, so labels and numbers never share a value. The table is
    persisted with the data (``to_json``).
    """

    def __init__(self, width=COORD_WIDTH):
        self.width = width
        self.base = 1 << (width - 1)
        self.to_int = [dict() for _ in range(DIMS)]
        self.to_label = [dict() for _ in range(DIMS)]

    def intern(self, dim, label):
        table = self.to_int[dim]
        if label not in table:
            number = max_value(self.width) - len(table)
            if number < self.base:
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
        return {"width": self.width, "dims": [dict(t) for t in self.to_int]}

    @classmethod
    def from_json(cls, data, width=COORD_WIDTH):
        table = cls(width=data.get("width", width))
        for dim, labels in enumerate(data["dims"]):
            for label, number in labels.items():
                if not table.base <= number <= max_value(table.width):
                    raise CoordError(f"component {dim + 1} ({COMPONENT_NAMES[dim]}): label "
                                     f"{label!r} has number {number}, outside the label range "
                                     f"{table.base}..{max_value(table.width)}", dim)
                table.to_int[dim][label] = number
                table.to_label[dim][number] = label
        return table


def _where(text, dim):
    return f"coordinate {text!r}, component {dim + 1} ({COMPONENT_NAMES[dim]})"


def _check_number(text, dim, value, width, symbols, lo=0, raw=False):
    """A component given as a number: in range, and not a label's number unless ``raw``."""
    if not lo <= value <= max_value(width):
        raise CoordError(f"{_where(text, dim)}: {value} is outside {lo}..{max_value(width)}", dim)
    if symbols is not None and value >= symbols.base:
        label = symbols.label(dim, value)
        if raw and label is not None:
            return value
        tail = (f"it is label {label!r}'s number: write the label" if label is not None
                else f"only labels go there: numbers are {lo}..{symbols.base - 1}")
        raise CoordError(f"{_where(text, dim)}: {value} is in the label range "
                         f"{symbols.base}..{max_value(width)}; {tail}", dim)
    return value


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
    where = _where(text, dim)
    if part.isascii() and part.isdigit():
        return _check_number(text, dim, int(part), width, symbols, lo)
    if part and (part[0].isalpha() or part[0] == "_"):
        if symbols is None:
            raise CoordError(f"{where}: {part!r} is a label, and labels are taken only where a "
                             f"symbol table is kept (the Python client); write a number "
                             f"{lo}..{max_value(width)}", dim)
        return symbols.intern(dim, part)
    if part[:1] == "-" and part[1:].isascii() and part[1:].isdigit():
        raise CoordError(f"{where}: {part!r} is negative: components are {lo}..{max_value(width)}",
                         dim)
    if not part:
        raise CoordError(f"{where}: empty component", dim)
    raise CoordError(f"{where}: {part!r} is not a number {lo}..{max_value(width)}"
                     + (" or a label" if symbols is not None else ""), dim)


def to_coord(coord, *, width=COORD_WIDTH, symbols=None):
    """A coordinate as users give it -> a tuple of ``DIMS`` ints.

    Text goes through ``parse_coord``; a tuple or list of ints (the raw form)
    is checked: ``DIMS`` components, each in range, and, with ``symbols``, a
    number in the label range only if it is an interned label's.
    """
    if isinstance(coord, str):
        return parse_coord(coord, width=width, symbols=symbols)
    shape = f"a coordinate is text like '1.1.1/1.1.1/1.1.1' or a tuple of {DIMS} ints"
    try:
        items = tuple(coord)
    except TypeError:
        raise CoordError(f"{shape}, not {type(coord).__name__} {coord!r}") from None
    if len(items) != DIMS:
        raise CoordError(f"{shape}; got {len(items)} components: {items!r}")
    out = []
    for dim, c in enumerate(items):
        try:
            if isinstance(c, bool):
                raise TypeError
            value = operator.index(c)
        except TypeError:
            raise CoordError(f"{_where(repr(items), dim)}: {c!r} is not an int", dim) from None
        out.append(_check_number(repr(items), dim, value, width, symbols, raw=True))
    return tuple(out)


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
                raise CoordError(f"{_where(text, dim)}: {value} is outside {lo}..{hi}", dim)
    return coord


def _component_text(dim, value, symbols):
    """A component as text: its label in ``symbols`` if it has one, else its number."""
    label = symbols.label(dim, value) if symbols is not None else None
    return str(value) if label is None else label


def _joined(c):
    return f"{c[0]}.{c[1]}.{c[2]}/{c[3]}.{c[4]}.{c[5]}/{c[6]}.{c[7]}.{c[8]}"


def format_coord(coord, symbols=None):
    return _joined([_component_text(dim, value, symbols) for dim, value in enumerate(coord)])


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
    c = []
    for dim, (l, h) in enumerate(zip(pattern.lo, pattern.hi)):
        if pattern.mask >> dim & 1:
            c.append("*")
        elif l == h:
            c.append(_component_text(dim, l, symbols))
        else:
            c.append(f"[{_component_text(dim, l, symbols)}:{_component_text(dim, h, symbols)}]")
    return _joined(c)


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


# A byte's bits spread DIMS apart: bit j of the byte lands at j*DIMS.
_SPREAD = tuple(sum(((byte >> j) & 1) << (j * DIMS) for j in range(8)) for byte in range(256))


def morton(coord, width=COORD_WIDTH):
    """The Z-order key: bit b of component i lands at b*DIMS + (DIMS-1-i).

    That is, from the most significant bit level down, one bit of each
    component in turn, component 0 first. Each component's bits are spread a
    byte at a time (``_SPREAD``), the same key as interleaving bit by bit.
    """
    key, mask = 0, (1 << width) - 1
    for dim in range(DIMS):
        value, shift, spread = coord[dim] & mask, DIMS - 1 - dim, 0
        while value:
            spread |= _SPREAD[value & 0xFF] << shift
            value >>= 8
            shift += 8 * DIMS
        key |= spread
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
