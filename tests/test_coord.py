"""Coordinates, patterns, Z-order and BIGMIN/LITMAX against brute force."""

import itertools

import pytest
from hypothesis import given, settings, strategies as st

from vtpu.coord import (CoordError, Pattern, SymbolTable, add_delta, bigmin, format_coord,
                        format_pattern, in_box, l1, litmax, morton, pack, parse_coord,
                        parse_pattern, unmorton, unpack, z_less)
from vtpu.isa import DIMS

comp = st.integers(min_value=0, max_value=65535)
coords = st.tuples(*[comp] * DIMS)


@given(coords)
def test_parse_format_round_trip(c):
    assert parse_coord(format_coord(c)) == c
    assert unpack(pack(c)) == c
    assert unmorton(morton(c)) == c


@given(coords, coords)
def test_z_less_is_morton_order(a, b):
    assert z_less(a, b) == (morton(a) < morton(b))


@given(st.tuples(*[st.integers(0, 3)] * DIMS), st.tuples(*[st.integers(0, 3)] * DIMS))
def test_z_less_small_values(a, b):
    assert z_less(a, b) == (morton(a) < morton(b))


@pytest.mark.parametrize("text, component", [
    ("1.2.3/4.5.6/7.8", None),              # wrong count
    ("1.2.3/4.5.6.7.8.9", None),            # wrong grouping
    ("1.2.3/4.x.6/7.8.9", 4),               # not a number: component 5
    ("1.2.3/4.5.6/7.8.65536", 8),           # out of range: component 9
    ("-1.2.3/4.5.6/7.8.9", 0),
])
def test_errors_name_the_component(text, component):
    with pytest.raises(CoordError) as err:
        parse_coord(text)
    assert err.value.component == component
    if component is not None:
        assert f"component {component + 1}" in str(err.value)


def test_phext_range_check():
    with pytest.raises(CoordError, match="component 2"):
        parse_coord("1.1000.1/1.1.1/1.1.1", lo=1, hi=999)
    with pytest.raises(CoordError, match="component 1"):
        parse_coord("0.1.1/1.1.1/1.1.1", lo=1, hi=999)


def test_labels_through_symbol_table():
    symbols = SymbolTable()
    c = parse_coord("person.1001.1/father.person.1/1.1.1", symbols=symbols)
    assert c[0] == 1 and c[3] == 1 and c[4] == 1 and c[1] == 1001
    assert parse_coord("robot.1.1/mother.1.1/1.1.1", symbols=symbols)[0] == 2
    assert format_coord(c, symbols) == "person.1001.1/father.person.1/1.1.1"
    again = SymbolTable.from_json(symbols.to_json())
    assert parse_coord("person.1001.1/father.person.1/1.1.1", symbols=again) == c
    with pytest.raises(CoordError, match="component 1"):
        parse_coord("person.1.1/1.1.1/1.1.1")          # labels need a symbol table


pattern_part = st.one_of(st.just("*"), st.integers(0, 999).map(str),
                         st.tuples(st.integers(0, 99), st.integers(100, 999)).map(lambda t: f"[{t[0]}:{t[1]}]"))


@given(st.lists(pattern_part, min_size=DIMS, max_size=DIMS))
def test_pattern_round_trip(parts):
    text = ".".join(parts[0:3]) + "/" + ".".join(parts[3:6]) + "/" + ".".join(parts[6:9])
    pattern = parse_pattern(text)
    assert format_pattern(pattern) == text
    assert pattern.mask == sum(1 << i for i, p in enumerate(parts) if p == "*")


def test_pattern_errors():
    with pytest.raises(CoordError, match="component 3"):
        parse_pattern("1.1.[5:2]/1.1.1/1.1.1")
    with pytest.raises(CoordError, match="component 4"):
        parse_pattern("1.1.1/[1-2].1.1/1.1.1")


W = 2
small = st.tuples(*[st.integers(0, 3)] * DIMS)


@settings(max_examples=150, deadline=None)
@given(small, small, st.integers(0, (1 << (DIMS * W)) - 1))
def test_bigmin_litmax_brute_force(a, b, z):
    lo, hi = tuple(map(min, a, b)), tuple(map(max, a, b))
    inside = sorted(morton(p, W) for p in itertools.product(*[range(l, h + 1) for l, h in zip(lo, hi)]))
    zmin, zmax = morton(lo, W), morton(hi, W)
    assert bigmin(z, zmin, zmax, W) == next((k for k in inside if k > z), None)
    assert litmax(z, zmin, zmax, W) == max((k for k in inside if k < z), default=None)


@given(small, small, small)
def test_in_box_l1_delta(a, b, c):
    lo, hi = tuple(map(min, a, b)), tuple(map(max, a, b))
    assert in_box(c, lo, hi) == all(l <= x <= h for x, l, h in zip(c, lo, hi))
    assert Pattern(lo, hi).contains(c) == in_box(c, lo, hi)
    assert l1(a, b) == sum(abs(x - y) for x, y in zip(a, b)) == l1(b, a)
    delta = tuple(y - x for x, y in zip(a, b))
    assert add_delta(a, delta) == b
    assert add_delta(a, tuple(-x - 1 for x in a)) is None
    assert add_delta((65535,) * DIMS, (1,) + (0,) * 8) is None
