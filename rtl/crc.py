"""CRC-8 (polynomial ``isa.CRC8_POLY``, MSB first), one byte per clock.

``crc8_next`` builds the combinational next-CRC expression; both the frame
decoder and the response encoder use it, and it is bit-exact with
``vtpu.isa.crc8_update``.
"""

from amaranth.hdl import Cat, Const, Mux, Value

from vtpu.isa import CRC8_POLY

__all__ = ["crc8_next"]


def crc8_next(crc, byte):
    """The CRC after shifting in ``byte`` (both 8-bit values)."""
    value = Value.cast(crc) ^ Value.cast(byte)
    for _ in range(8):
        shifted = Cat(Const(0, 1), value[:7])
        value = Mux(value[7], shifted ^ CRC8_POLY, shifted)
    return value
