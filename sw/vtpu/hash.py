"""The vTPU hash: H3 (Carter & Wegman), a multiply-free XOR matrix.

Output bit j is the parity of ``key & row[j]``; the rows come from a seeded
splitmix64 stream, so the hardware builds the same matrix as constant XOR
trees at elaboration time and is bit-exact with ``h3``. H3 is linear over
GF(2); CDIGEST therefore sums (not XORs) its per-entry hashes so that moving
values between keys changes the digest.

Uses of the 48-bit table hash ``h = table_hash(coord)``:
  * set index within a sentron: ``h[0:set_bits]``;
  * owning sentron of an array: ``h[set_bits : set_bits + sentron_bits]``;
  * CROUTE hash mode: ``(h[16:32] * n) >> 16``;
  * CMOE: ``(h[32:48] * n) >> 16``.
The last two are multiply-high range reduction (Lemire 2019): the uniform
``hash mod n`` of the spec in one small multiply instead of a divider.
"""

from functools import lru_cache

from .coord import pack
from .isa import COORD_WIDTH, DIGEST_SEED, DIGEST_WIDTH, DIMS, HASH_WIDTH, TABLE_SEED, VALUE_WIDTH

__all__ = ["splitmix64", "h3_rows", "h3", "h3_reference", "table_hash", "digest_hash",
           "route_node", "moe_expert", "reduce16"]

MASK64 = (1 << 64) - 1


def splitmix64(state):
    """One step: returns (new_state, output)."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


@lru_cache(maxsize=None)
def h3_rows(seed, in_bits, out_bits):
    """The H3 matrix: ``out_bits`` masks of ``in_bits`` bits each."""
    rows = []
    state = seed & MASK64
    for _ in range(out_bits):
        row = 0
        for word in range((in_bits + 63) // 64):
            state, out = splitmix64(state)
            row |= out << (64 * word)
        rows.append(row & ((1 << in_bits) - 1))
    return tuple(rows)


def h3_reference(key, rows):
    """The definition: output bit j is the parity of ``key & rows[j]``."""
    out = 0
    for j, row in enumerate(rows):
        out |= ((key & row).bit_count() & 1) << j
    return out


@lru_cache(maxsize=None)
def _byte_tables(rows):
    # H3 is linear, so the hash of a key is the XOR of the hashes of its bytes:
    # one 256-entry table per key byte gives the same answer 3-4x faster.
    in_bytes = (max(row.bit_length() for row in rows) + 7) // 8
    return tuple(tuple(h3_reference(b << (8 * i), rows) for b in range(256))
                 for i in range(in_bytes))


def h3(key, rows):
    out = 0
    for table in _byte_tables(rows):
        out ^= table[key & 0xFF]
        key >>= 8
    return out


def table_hash(coord, width=COORD_WIDTH, seed=TABLE_SEED):
    return h3(pack(coord, width), h3_rows(seed, DIMS * width, HASH_WIDTH))


def digest_hash(coord, value, width=COORD_WIDTH, value_width=VALUE_WIDTH, seed=DIGEST_SEED):
    """Per-entry CDIGEST hash of (coordinate, value): H3 over value||coord."""
    key = pack(coord, width) | (value << (DIMS * width))
    return h3(key, h3_rows(seed, DIMS * width + value_width, DIGEST_WIDTH))


def reduce16(h16, n):
    """Map a 16-bit hash uniformly onto 0..n-1 (n in 1..65535)."""
    return (h16 * n) >> 16


def route_node(coord, n, width=COORD_WIDTH, seed=TABLE_SEED):
    return reduce16((table_hash(coord, width, seed) >> 16) & 0xFFFF, n)


def moe_expert(coord, n, width=COORD_WIDTH, seed=TABLE_SEED):
    return reduce16((table_hash(coord, width, seed) >> 32) & 0xFFFF, n)
