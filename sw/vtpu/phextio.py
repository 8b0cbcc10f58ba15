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
           "checksum", "check_phext_coord", "decode_utf8", "TextError"]

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


class TextError(ValueError):
    """A file that is not UTF-8 text; the message names the file and the first bad byte."""


def decode_utf8(data, name):
    """``data`` as text, or ``TextError``: ``book.phext: not UTF-8 text (byte 0x91 at offset 7)``."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TextError(f"{name}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                        f"{exc.start})") from None


# Bytes, not text mode: universal newlines would turn a scroll's "\r\n" into "\n".
def read_phext(path):
    """``path``'s (coordinate, scroll) pairs; errors in its text name the file."""
    text = decode_utf8(Path(path).read_bytes(), path)
    try:
        return load_phext(text)
    except CoordError as exc:
        raise CoordError(f"{path}: {exc}", exc.component) from None


def write_phext(path, pairs):
    Path(path).write_bytes(dump_phext(pairs).encode("utf-8"))
