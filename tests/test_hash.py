"""The hashes: H3's definition and linearity, the table hash's mixing round
(not linear), seeding, and spread on clustered keys against a random function.

The references are the definitions, written here: H3's output bit j is the
parity of ``key & rows[j]``; the mix is spelled out bit by bit; the rows
(``h3_rows``) are the spec's constants, and keys are built from the frame
bytes with ``struct``, not ``vtpu.coord.pack``."""

import random
import struct
import hashlib
import statistics
from collections import Counter

from vtpu.hash import (digest_hash, h3, h3_reference, h3_rows, moe_expert, route_node,
                       table_hash)
from vtpu.isa import DIGEST_SEED, DIMS, HASH_WIDTH, TABLE_SEED

TABLE_ROWS = h3_rows(TABLE_SEED, DIMS * 16, HASH_WIDTH)


def h3_by_parity(key, rows):
    """Bit j of the hash: 1 when ``key & rows[j]`` has an odd number of ones."""
    return sum((bin(key & row).count("1") % 2) << j for j, row in enumerate(rows))


def mix_by_bits(x):
    """The mixing round by its definition: chi, ``a[i] = x[i] ^ (~x[i+1] & x[i+2])``,
    then ``out[i] = a[i] ^ a[i-7] ^ a[i-22]``, indices mod 48."""
    n = HASH_WIDTH
    bit = [x >> i & 1 for i in range(n)]
    a = [bit[i] ^ ((1 - bit[(i + 1) % n]) & bit[(i + 2) % n]) for i in range(n)]
    return sum((a[i] ^ a[(i - 7) % n] ^ a[(i - 22) % n]) << i for i in range(n))


def coord_key(coord):
    """A coordinate as the table hash's key: its frame bytes, read little-endian."""
    return int.from_bytes(struct.pack("<9H", *coord), "little")


def test_byte_tables_and_reference_equal_the_definition():
    rng = random.Random(1)
    for _ in range(300):
        key = rng.getrandbits(DIMS * 16)
        assert h3(key, TABLE_ROWS) == h3_reference(key, TABLE_ROWS) == h3_by_parity(key, TABLE_ROWS)


def test_table_hash_is_mixed_h3_and_digest_hash_h3_of_the_frame_bytes():
    rng = random.Random(4)
    digest_rows = h3_rows(DIGEST_SEED, DIMS * 16 + 64, 64)
    for _ in range(200):
        c = tuple(rng.choice([rng.randrange(4), rng.randrange(2**16)]) for _ in range(DIMS))
        v = rng.getrandbits(64)
        assert table_hash(c) == mix_by_bits(h3_by_parity(coord_key(c), TABLE_ROWS)) < 2**HASH_WIDTH
        key = int.from_bytes(struct.pack("<9HQ", *c, v), "little")    # value above the coordinate
        assert digest_hash(c, v) == h3_by_parity(key, digest_rows) < 2**64


def test_h3_linear_table_hash_not_and_both_seeded():
    rng = random.Random(2)
    for _ in range(100):
        a, b = rng.getrandbits(144), rng.getrandbits(144)
        assert h3(a ^ b, TABLE_ROWS) == h3(a, TABLE_ROWS) ^ h3(b, TABLE_ROWS)
    # An affine map f has f(a) ^ f(b) ^ f(c) == f(a ^ b ^ c); the table hash
    # breaks that for nearly every triple.
    def of(key):
        return table_hash(tuple(key >> (16 * d) & 0xFFFF for d in range(DIMS)))
    broken = 0
    for _ in range(100):
        a, b, c = (rng.getrandbits(144) for _ in range(3))
        broken += of(a) ^ of(b) ^ of(c) != of(a ^ b ^ c)
    assert broken >= 99
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
    # independent, and the mix keeps them apart (its diffusion step is
    # invertible). Clustered keys (below) get distinct hashes too.
    for dim in range(DIMS):
        base = [1] * DIMS
        hashes = {table_hash(tuple(base[:dim] + [v] + base[dim + 1:])) for v in range(65536)}
        assert len(hashes) == 65536, dim
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


def structured_families(n, rng):
    """Key families a workload makes: a run of positions in each component
    (CMOE's ``0.pos.3/1.1.1/1.1.1`` among them), square grids over pairs of
    components, and uniform keys."""
    base = tuple(rng.randrange(1, 10) for _ in range(DIMS))
    families = [[base[:d] + (p,) + base[d + 1:] for p in range(1, n + 1)] for d in range(DIMS)]
    families.append([(0, p, 3, 1, 1, 1, 1, 1, 1) for p in range(1, n + 1)])
    side = int(n ** 0.5)
    for i, j in [(7, 8), (1, 2), (4, 8), (0, 5)]:
        grid = []
        for a in range(1, side + 1):
            for b in range(1, n // side + 1):
                k = list(base)
                k[i], k[j] = a, b
                grid.append(tuple(k))
        families.append(grid)
    families.append([tuple(rng.randrange(65536) for _ in range(DIMS)) for _ in range(n)])
    return families


def max_over_mean(hashes, n):
    """The fullest of ``n`` bins (an expert's multiply-high of bits 32..47) over the mean."""
    load = Counter((h >> 32 & 0xFFFF) * n >> 16 for h in hashes)
    return max(load.values()) / (len(hashes) / n), len(load)


def test_expert_spread_on_structured_keys_matches_a_random_function():
    # H3 alone sent positions 1..128 of 0.pos.3 to 8 of 16 experts. The table
    # hash must use every expert on every family, and spread as evenly on
    # average as a random function does (BLAKE2b of the key) on the same keys.
    rng = random.Random(5)
    for n, experts in [(128, 16), (256, 16), (1024, 64)]:
        ours, random_function = [], []
        for family in structured_families(n, rng):
            spread, used = max_over_mean([table_hash(k) for k in family], experts)
            assert used == experts, (n, experts, family[0])
            ours.append(spread)
            blake = [int.from_bytes(hashlib.blake2b(struct.pack("<9H", *k), digest_size=6).digest(),
                                    "little") for k in family]
            random_function.append(max_over_mean(blake, experts)[0])
        assert statistics.mean(ours) <= 1.1 * statistics.mean(random_function), (n, experts)
