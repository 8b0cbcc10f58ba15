"""Phext files through the real phext library: byte-identical round trips."""

import pytest
from hypothesis import given, settings, strategies as st
from phext.coordinate import Coordinate
from phext.phext import Phext

from vtpu.coord import CoordError
from vtpu.phextio import TextError, checksum, dump_phext, load_phext, read_phext, write_phext

pc = st.tuples(*[st.integers(1, 9)] * 9)
scroll = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters=
                                        "\x01\x17\x18\x19\x1a\x1c\x1d\x1e\x1f"), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(pc, scroll, min_size=1, max_size=12))
def test_library_text_loads_and_saves_back_identical(scrolls):
    text = Phext().implode({Coordinate(*c): s for c, s in sorted(scrolls.items())})
    pairs = load_phext(text)
    assert dict(pairs) == scrolls
    assert dump_phext(pairs) == text
    assert checksum(dump_phext(pairs)) == Phext().checksum(text)


def test_files(tmp_path):
    pairs = [((1, 1, 1, 1, 1, 1, 1, 1, 1), "hello"), ((1, 2, 1, 1, 1, 1, 1, 1, 3), "world\nline 2")]
    path = tmp_path / "a.phext"
    write_phext(path, pairs)
    assert read_phext(path) == pairs
    assert path.read_text() == Phext().implode({Coordinate(*c): s for c, s in pairs})


def test_out_of_range_names_component():
    with pytest.raises(CoordError, match=r"component 3 \(series\): 1000 is outside the phext range"):
        dump_phext([((1, 1, 1000, 1, 1, 1, 1, 1, 1), "x")])
    with pytest.raises(CoordError, match="component 9"):
        dump_phext([((1, 1, 1, 1, 1, 1, 1, 1, 0), "x")])


def test_a_file_that_is_not_utf8_is_named_with_the_byte_and_offset(tmp_path):
    path = tmp_path / "book.phext"
    path.write_bytes(b"first scroll\x17caf\x91")
    with pytest.raises(TextError) as err:
        read_phext(path)
    assert str(err.value) == f"{path}: not UTF-8 text (byte 0x91 at offset 16)"
    assert isinstance(err.value, ValueError)
