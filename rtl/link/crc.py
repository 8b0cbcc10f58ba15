"""CRC-8 (polynomial ``isa.CRC8_POLY``, MSB first), one byte per clock.

A byte-wise CRC is linear over GF(2): the next CRC is a fixed 8x8 XOR matrix
applied to ``crc ^ byte``. The matrix is derived from ``vtpu.isa.crc8_update``
at elaboration, so ``crc8_next`` is bit-exact with it and is eight small XOR
trees rather than eight chained multiplexers.
"""

from amaranth.hdl import Cat, Value

from vtpu.isa import crc8_update

__all__ = ["crc8_next"]

# CRC_TAPS[j]: the bits of (crc ^ byte) whose parity is bit j of the next CRC.
CRC_TAPS = [[i for i in range(8) if crc8_update(1 << i, 0) >> j & 1] for j in range(8)]


def crc8_next(crc, byte):
    """The CRC after shifting in ``byte`` (both 8-bit values)."""
    x = Value.cast(crc) ^ Value.cast(byte)
    return Cat(*(Cat(*(x[i] for i in taps)).xor() for taps in CRC_TAPS))
