"""Phext files through the real ``phext`` library.

A ``.phext`` file is plain text in which nine kinds of break characters move
the write position through the 9-D coordinate space. ``load_phext`` turns one
into (coordinate, scroll) pairs and ``dump_phext`` writes pairs back with the
library's own writer, so a file the library wrote saves back byte-identical.
Phext coordinates use 1..999 per component; both directions check that.
"""

from pathlib import Path

from phext.coordinate import Coordinate
from phext.phext import Phext

from .coord import COMPONENT_NAMES, CoordError, format_coord

__all__ = ["PHEXT_MIN", "PHEXT_MAX", "load_phext", "dump_phext", "read_phext", "write_phext",
           "checksum", "check_phext_coord"]

PHEXT_MIN, PHEXT_MAX = 1, 999


def check_phext_coord(coord):
    for dim, value in enumerate(coord):
        if not PHEXT_MIN <= value <= PHEXT_MAX:
            raise CoordError(f"coordinate {format_coord(coord)}, component {dim + 1} "
                             f"({COMPONENT_NAMES[dim]}): {value} is outside the phext range "
                             f"{PHEXT_MIN}..{PHEXT_MAX}", dim)
    return tuple(coord)


def load_phext(text):
    """Phext text -> [(coordinate tuple, scroll text)] in file order (empty scrolls skipped)."""
    return [(check_phext_coord(coord.as_tuple()), scroll)
            for coord, scroll in Phext().explode(text).items() if scroll]


def dump_phext(pairs):
    """(coordinate, scroll) pairs -> phext text, written by the phext library."""
    scrolls = {}
    for coord, scroll in sorted(pairs):
        scrolls[Coordinate(*check_phext_coord(coord))] = scroll
    return Phext().implode(scrolls)


def checksum(text):
    """The phext library's checksum of a whole phext text."""
    return Phext().checksum(text)


# Bytes, not text mode: universal newlines would turn a scroll's "\r\n" into "\n".
def read_phext(path):
    return load_phext(Path(path).read_bytes().decode("utf-8"))


def write_phext(path, pairs):
    Path(path).write_bytes(dump_phext(pairs).encode("utf-8"))
