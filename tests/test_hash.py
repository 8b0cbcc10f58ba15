"""The H3 hash: definition, linearity, seeding and spread on clustered keys."""

import random
from collections import Counter

from vtpu.coord import pack
from vtpu.hash import (digest_hash, h3, h3_reference, h3_rows, moe_expert, route_node,
                       table_hash)
from vtpu.isa import DIMS, HASH_WIDTH, TABLE_SEED


def test_byte_tables_equal_definition():
    rows = h3_rows(TABLE_SEED, 144, HASH_WIDTH)
    rng = random.Random(1)
    for _ in range(300):
        key = rng.getrandbits(144)
        assert h3(key, rows) == h3_reference(key, rows)


def test_linear_over_gf2_and_seeded():
    rows = h3_rows(TABLE_SEED, 144, HASH_WIDTH)
    rng = random.Random(2)
    for _ in range(100):
        a, b = rng.getrandbits(144), rng.getrandbits(144)
        assert h3(a ^ b, rows) == h3(a, rows) ^ h3(b, rows)
    c = (1, 2, 3, 4, 5, 6, 7, 8, 9)
    assert table_hash(c) == table_hash(c) != table_hash(c, seed=TABLE_SEED + 1)
    assert table_hash(c) < 2**HASH_WIDTH


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
    assert digest_hash(c, 0) == h3(pack(c), h3_rows(0x7654_5055_D16E, 144 + 64, 64))
