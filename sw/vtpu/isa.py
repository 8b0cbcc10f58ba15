"""The vTPU instruction set: the one place that defines it.

Opcodes, status codes, field widths and the byte-level frame format live here
and nowhere else. The golden model, the assembler, the host driver, the RTL
(through ``amaranth.lib.enum`` shapes and ``lib.data`` layouts) and the
testbenches all import this module.

Frame format (all multi-byte fields little-endian)::

    command:   0xA5  OP   TAG  LEN  PAYLOAD[LEN]  CRC8
    response:  0x5A  STAT TAG  LEN  PAYLOAD[LEN]  CRC8

``CRC8`` is CRC-8/SMBUS (polynomial 0x07, initial value 0) over every byte
after the sync byte and before the CRC. ``STAT`` holds the status code in its
low nibble and the MORE flag in bit 7: a multi-result instruction answers with
one MORE frame per result record, then one final frame (MORE clear) that
carries the status and the record count.

Resynchronisation: a receiver discards bytes until it sees the sync byte. A
frame whose LEN exceeds ``MAX_PAYLOAD`` is rejected as soon as LEN arrives;
a frame whose CRC does not match is rejected after its CRC byte. Either way the
receiver answers BAD_FRAME (echoing the TAG byte it received) and goes back to
hunting for the sync byte at the next byte. A known opcode whose LEN does not
fit it (``length_fits``) is rejected as BAD_FRAME as soon as LEN arrives, which
lets the receiver fall back to hunting before it swallows the next good frame.
A frame with a good CRC but an unknown opcode answers BAD_OPCODE. BAD_ARG is
for well-formed frames whose arguments make no sense (k = 0, n = 0, lo > hi,
an unknown mode ...).
"""

from dataclasses import dataclass

from amaranth.lib import enum

__all__ = [
    "DIMS", "COORD_WIDTH", "VALUE_WIDTH", "HASH_WIDTH", "DIGEST_WIDTH",
    "LANES", "LANE_WIDTH", "MAX_HOPS", "ROUTE_ENTRIES", "MAX_PAYLOAD",
    "CMD_SYNC", "RSP_SYNC", "MORE", "TABLE_SEED", "DIGEST_SEED",
    "Op", "Status", "Dir", "RouteMode", "AttendMode",
    "Field", "PAYLOAD", "RESULT", "RECORD", "FINAL", "MULTI_RESULT",
    "field_bytes", "payload_bytes", "length_fits",
    "crc8", "crc8_update",
]

# --- Widths (parameters; these are the defaults) -------------------------------

DIMS = 9             # components per coordinate: a.b.c/d.e.f/g.h.i
COORD_WIDTH = 16     # W: bits per component; frames require a multiple of 8
VALUE_WIDTH = 64     # bits per stored value
HASH_WIDTH = 48      # bits of the table/route/MoE hash (see vtpu.hash)
DIGEST_WIDTH = 64    # bits of the CDIGEST accumulator
LANES = 8            # CATTEND: a value is LANES signed lanes ...
LANE_WIDTH = 8       # ... of LANE_WIDTH bits each (lane 0 in the low byte)
MAX_HOPS = 8         # CKG: most hops in one instruction
ROUTE_ENTRIES = 16   # CROUTE range mode: entries in the ownership table

TABLE_SEED = 0x7654_5055_0001   # seeds the H3 matrix of the table hash
DIGEST_SEED = 0x7654_5055_D16E  # seeds the H3 matrix of the CDIGEST hash

CMD_SYNC = 0xA5
RSP_SYNC = 0x5A
MORE = 0x80          # STAT bit: more frames for this instruction follow


class Op(enum.IntEnum, shape=8):
    """Opcodes. The first ten come from the original specification."""
    CGET     = 0x01
    CPUT     = 0x02
    CRANGE   = 0x03
    CDELTA   = 0x04
    CNEAREST = 0x05
    CHIER    = 0x06
    CROUTE   = 0x07
    CATTEND  = 0x08
    CMOE     = 0x09
    CKG      = 0x0A
    # Extensions.
    CDEL     = 0x0B
    CDIGEST  = 0x0C
    CRTSET   = 0x0D   # load one entry of the CROUTE range-ownership table


class Status(enum.IntEnum, shape=4):
    OK         = 0
    NOT_FOUND  = 1
    TABLE_FULL = 2
    OVERFLOW   = 3
    BAD_FRAME  = 4
    BAD_OPCODE = 5
    BAD_ARG    = 6


class Dir(enum.IntEnum, shape=8):
    """CHIER direction."""
    UP   = 0
    DOWN = 1


class RouteMode(enum.IntEnum, shape=8):
    """CROUTE mode."""
    HASH  = 0
    RANGE = 1


class AttendMode(enum.IntEnum, shape=8):
    """CATTEND scoring mode."""
    DOT      = 0   # int8 x LANES dot product of the values
    DISTANCE = 1   # minus the L1 distance of the coordinates


# --- Payload layouts -------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """One payload field.

    ``kind`` is one of:
      ``u8``/``u16``/``u32``/``u64`` -- unsigned little-endian integer,
      ``s32``     -- signed 32-bit little-endian integer,
      ``value``   -- an unsigned VALUE_WIDTH-bit word,
      ``coord``   -- DIMS components of COORD_WIDTH bits, component 0 first,
      ``delta``   -- DIMS signed (two's complement) COORD_WIDTH-bit components,
      ``pattern`` -- a 16-bit wildcard mask (bit i set: component i is ``*``),
                     then the ``lo`` coordinate, then the ``hi`` coordinate,
      ``deltas``  -- as many ``delta``s as the ``hops`` field says (CKG only).
    """
    name: str
    kind: str


def _fields(*spec):
    return tuple(Field(name, kind) for name, kind in spec)


# Command payloads, by opcode.
PAYLOAD = {
    Op.CGET:     _fields(("coord", "coord")),
    Op.CPUT:     _fields(("coord", "coord"), ("value", "value")),
    Op.CDEL:     _fields(("coord", "coord")),
    Op.CRANGE:   _fields(("pattern", "pattern")),
    Op.CDELTA:   _fields(("coord", "coord"), ("delta", "delta")),
    Op.CNEAREST: _fields(("coord", "coord"), ("k", "u8")),
    Op.CHIER:    _fields(("pattern", "pattern"), ("dir", "u8")),
    Op.CROUTE:   _fields(("coord", "coord"), ("n", "u16"), ("mode", "u8")),
    Op.CATTEND:  _fields(("coord", "coord"), ("pattern", "pattern"), ("k", "u8"), ("mode", "u8")),
    Op.CMOE:     _fields(("coord", "coord"), ("n", "u16")),
    Op.CKG:      _fields(("coord", "coord"), ("entity", "u8"), ("hops", "u8"), ("deltas", "deltas")),
    Op.CDIGEST:  _fields(("pattern", "pattern")),
    Op.CRTSET:   _fields(("index", "u8"), ("bound", "coord"), ("node", "u16")),
}

# Single-frame response payloads (status OK). Error responses carry no payload.
RESULT = {
    Op.CGET:    _fields(("value", "value")),
    Op.CPUT:    (),
    Op.CDEL:    (),
    Op.CDELTA:  _fields(("coord", "coord")),
    Op.CROUTE:  _fields(("node", "u16")),
    Op.CMOE:    _fields(("expert", "u16")),
    Op.CDIGEST: _fields(("count", "u32"), ("digest", "u64")),
    Op.CRTSET:  (),
    # CHIER UP answers with one frame holding the new pattern; CHIER DOWN
    # answers like CRANGE (records, then FINAL).
    Op.CHIER:   _fields(("pattern", "pattern")),
}

# Per-record payloads of the multi-result instructions (MORE frames).
RECORD = {
    Op.CRANGE:   _fields(("coord", "coord"), ("value", "value")),
    Op.CHIER:    _fields(("coord", "coord"), ("value", "value")),   # DOWN only
    Op.CNEAREST: _fields(("coord", "coord"), ("value", "value"), ("distance", "u32")),
    Op.CATTEND:  _fields(("coord", "coord"), ("score", "s32")),
    Op.CKG:      _fields(("coord", "coord"), ("value", "value")),
}
MULTI_RESULT = frozenset(RECORD)

# The final frame of a multi-result instruction: status, and how many records.
FINAL = _fields(("count", "u32"))


def field_bytes(kind, *, width=COORD_WIDTH, value_width=VALUE_WIDTH, hops=0):
    """Size in bytes of one field of ``kind``."""
    comp = width // 8
    return {
        "u8": 1, "u16": 2, "u32": 4, "u64": 8, "s32": 4,
        "value": value_width // 8,
        "coord": DIMS * comp,
        "delta": DIMS * comp,
        "pattern": 2 + 2 * DIMS * comp,
        "deltas": hops * DIMS * comp,
    }[kind]


def payload_bytes(fields, *, width=COORD_WIDTH, value_width=VALUE_WIDTH, hops=0):
    return sum(field_bytes(f.kind, width=width, value_width=value_width, hops=hops)
               for f in fields)


# The longest command payload: CKG with MAX_HOPS hops.
MAX_PAYLOAD = payload_bytes(PAYLOAD[Op.CKG], hops=MAX_HOPS)


def length_fits(op, length):
    """Whether a command payload of ``length`` bytes fits opcode ``op``."""
    if op == Op.CKG:
        fixed = payload_bytes(PAYLOAD[Op.CKG])
        step = field_bytes("delta")
        return fixed <= length <= MAX_PAYLOAD and (length - fixed) % step == 0
    return length == payload_bytes(PAYLOAD[op])


# --- CRC-8/SMBUS -------------------------------------------------------------------

CRC8_POLY = 0x07


def crc8_update(crc, byte):
    """One byte of CRC-8 (poly 0x07, MSB first); the RTL computes the same."""
    crc ^= byte
    for _ in range(8):
        crc = ((crc << 1) ^ CRC8_POLY) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


# crc8_update for every (crc ^ byte): a byte is one lookup.
_CRC8_TABLE = bytes(crc8_update(0, x) for x in range(256))


def crc8(data):
    crc = 0
    for byte in data:
        crc = _CRC8_TABLE[crc ^ byte]
    return crc
