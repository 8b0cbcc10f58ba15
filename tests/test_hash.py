"""The H3 hash: definition, linearity, seeding and spread on clustered keys.

The reference is the definition itself, written here: output bit j is the
parity of ``key & rows[j]``; the rows (``h3_rows``) are the spec's constants,
and keys are built from the frame bytes with ``struct``, not ``vtpu.coord.pack``."""

import random
import struct
from collections import Counter

from vtpu.hash import (digest_hash, h3, h3_reference, h3_rows, moe_expert, route_node,
                       table_hash)
from vtpu.isa import DIGEST_SEED, DIMS, HASH_WIDTH, TABLE_SEED

TABLE_ROWS = h3_rows(TABLE_SEED, DIMS * 16, HASH_WIDTH)


def h3_by_parity(key, rows):
    """Bit j of the hash: 1 when ``key & rows[j]`` has an odd number of ones."""
    return sum((bin(key & row).count("1") % 2) << j for j, row in enumerate(rows))


def coord_key(coord):
    """A coordinate as the table hash's key: its frame bytes, read little-endian."""
    return int.from_bytes(struct.pack("<9H", *coord), "little")


def test_byte_tables_and_reference_equal_the_definition():
    rng = random.Random(1)
    for _ in range(300):
        key = rng.getrandbits(DIMS * 16)
        assert h3(key, TABLE_ROWS) == h3_reference(key, TABLE_ROWS) == h3_by_parity(key, TABLE_ROWS)


def test_table_and_digest_hash_are_h3_of_the_frame_bytes():
    rng = random.Random(4)
    digest_rows = h3_rows(DIGEST_SEED, DIMS * 16 + 64, 64)
    for _ in range(200):
        c = tuple(rng.choice([rng.randrange(4), rng.randrange(2**16)]) for _ in range(DIMS))
        v = rng.getrandbits(64)
        assert table_hash(c) == h3_by_parity(coord_key(c), TABLE_ROWS) < 2**HASH_WIDTH
        key = int.from_bytes(struct.pack("<9HQ", *c, v), "little")    # value above the coordinate
        assert digest_hash(c, v) == h3_by_parity(key, digest_rows) < 2**64


def test_linear_over_gf2_and_seeded():
    rng = random.Random(2)
    for _ in range(100):
        a, b = rng.getrandbits(144), rng.getrandbits(144)
        assert h3(a ^ b, TABLE_ROWS) == h3(a, TABLE_ROWS) ^ h3(b, TABLE_ROWS)
    c = (1, 2, 3, 4, 5, 6, 7, 8, 9)
    assert table_hash(c) != table_hash(c, seed=TABLE_SEED + 1)
    assert h3_rows(TABLE_SEED + 1, DIMS * 16, HASH_WIDTH) != TABLE_ROWS


def test_every_key_bit_reaches_the_hash_and_no_two_cancel():
    # The hashes of the single-bit keys are the matrix's columns: all distinct
    # and non-zero, or some bit (pair of bits) would never change the hash.
    columns = [table_hash(tuple(1 << b if d == dim else 0 for d in range(DIMS)))
               for dim in range(DIMS) for b in range(16)]
    assert 0 not in columns and len(set(columns)) == DIMS * 16


def test_one_component_varying_never_collides():
    # Keys that differ in one component only (a column of scrolls, a run of
    # sections) get distinct 48-bit hashes: each component's 16 columns are
    # independent. Clustered keys (below) get distinct hashes too.
    for dim in range(DIMS):
        base = [1] * DIMS
        hashes = {table_hash(tuple(base[:dim] + [v] + base[dim + 1:])) for v in range(4096)}
        assert len(hashes) == 4096, dim
    keys = clustered()
    assert len({table_hash(k) for k in keys}) == len(keys)


def clustered(n_per_dim=4):
    """Phext-like keys: small values on a few components, the rest fixed."""
    return [(1, 1, a, 1, b, 1, c, d, e)
            for a in range(1, n_per_dim + 1) for b in range(1, n_per_dim + 1)
            for c in range(1, n_per_dim + 1) for d in range(1, 9) for e in range(1, 9)]


def test_spread_on_clustered_coordinates():
    keys = clustered()                      # 4096 keys in a tiny corner of the space
    sets = 256
    load = Counter(table_hash(k) & (sets - 1) for k in keys)
    expected = len(keys) / sets
    chi2 = sum((load[s] - expected) ** 2 / expected for s in range(sets))
    # 255 degrees of freedom: a uniform hash lands near 255; 400 is p < 1e-8.
    assert chi2 < 400, chi2
    assert max(load.values()) <= 3 * expected


def test_route_and_moe_ranges():
    keys = clustered(2)
    for n in (1, 3, 7, 16, 1000):
        nodes = Counter(route_node(k, n) for k in keys)
        experts = Counter(moe_expert(k, n) for k in keys)
        assert set(nodes) <= set(range(n)) and set(experts) <= set(range(n))
        if n <= 16:
            assert len(nodes) == n and len(experts) == n
            assert max(nodes.values()) < 2 * len(keys) / n


def test_digest_hash_covers_value_and_coord():
    c = (1,) * DIMS
    assert digest_hash(c, 1) != digest_hash(c, 2)
    assert digest_hash(c, 1) != digest_hash((2,) + (1,) * 8, 1)
