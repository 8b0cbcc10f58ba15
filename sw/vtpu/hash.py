"""The vTPU hashes: H3 (Carter & Wegman), a multiply-free XOR matrix, and the
table hash, H3 followed by one nonlinear mixing round.

H3's output bit j is the parity of ``key & row[j]``; the rows come from a
seeded splitmix64 stream, so the hardware builds the same matrix as constant
XOR trees at elaboration time and is bit-exact with ``h3``.

H3 is linear over GF(2), so structured keys land in structured buckets: the
few hash bits a bucket or an expert is chosen by are a linear map of the few
key bits that vary, and when that map drops rank, whole buckets go unused
(CMOE sent sequence positions 1..128 to 8 of 16 experts). ``table_hash``
therefore passes H3's 48 bits through ``mix48``, one round of Keccak's chi
(``x ^= ~rotl(x, 1) & rotl(x, 2)``, the nonlinear step: degree 2, a 3-input
LUT per bit) and a theta-like diffusion (``x ^= rotl(x, 7) ^ rotl(x, 22)``):
two LUT levels in hardware. chi is invertible on odd widths only, so the mix
is not a bijection on 48 bits; it does not need to be. On clustered keys its
spread matches a random function's (``tests/test_hash.py``, ``make bench``).

CDIGEST's per-entry hash stays plain H3: it is summed (not XORed) into the
digest, so that moving values between keys changes the digest.

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

__all__ = ["splitmix64", "h3_rows", "h3", "h3_reference", "mix48", "table_hash", "digest_hash",
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


MIX_ROTATIONS = (1, 2, 7, 22)     # chi's two taps, then the diffusion's two


def _rotl48(x, r):
    return (x << r | x >> (HASH_WIDTH - r)) & ((1 << HASH_WIDTH) - 1)


def mix48(x):
    """One nonlinear round over a 48-bit word: chi, then a two-tap diffusion.

    Bit i of the chi step is ``x[i] ^ (~x[i+1] & x[i+2])`` (indices mod 48);
    bit i of the result is the XOR of the chi step's bits i, i-7 and i-22."""
    mask = (1 << HASH_WIDTH) - 1
    a, b, c, d = MIX_ROTATIONS
    x ^= ~_rotl48(x, HASH_WIDTH - a) & _rotl48(x, HASH_WIDTH - b) & mask
    return x ^ _rotl48(x, c) ^ _rotl48(x, d)


def table_hash(coord, width=COORD_WIDTH, seed=TABLE_SEED):
    """The hash that picks buckets, sentrons, experts and nodes: ``mix48(H3(coord))``."""
    return mix48(h3(pack(coord, width), h3_rows(seed, DIMS * width, HASH_WIDTH)))


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
