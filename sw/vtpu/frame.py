"""Frame encoding and decoding, and the byte-level receiver that resyncs.

The format itself is described in ``vtpu.isa``. ``FrameReceiver`` is the
reference for the RTL frame decoder: the same bytes in give the same frames
and the same BAD_FRAME rejections, in the same order.
"""

from dataclasses import dataclass

from .isa import (CMD_SYNC, COORD_WIDTH, DIMS, FINAL, MAX_PAYLOAD, MORE, MULTI_RESULT, PAYLOAD,
                  RECORD, RESULT, RSP_SYNC, VALUE_WIDTH, Op, Status, crc8, field_bytes,
                  payload_bytes, length_fits)
from .coord import Pattern

__all__ = ["FrameError", "Command", "Response", "encode_fields", "decode_fields",
           "encode_command", "encode_response", "FrameReceiver",
           "command_frame", "response_frame", "parse_responses"]


_OPCODES = frozenset(int(op) for op in Op)


class FrameError(ValueError):
    pass


@dataclass(frozen=True)
class Command:
    """A received command frame (payload not yet interpreted)."""
    op: int        # raw opcode byte: may not be a valid Op
    tag: int
    payload: bytes


@dataclass(frozen=True)
class Response:
    status: Status
    more: bool
    tag: int
    payload: bytes

    def fields(self, op):
        """Interpret the payload given the opcode of the command it answers."""
        if self.more:
            return decode_fields(RECORD[op], self.payload)
        if not self.payload:
            return {}
        if op in MULTI_RESULT and len(self.payload) == payload_bytes(FINAL):
            return decode_fields(FINAL, self.payload)
        return decode_fields(RESULT[op], self.payload)


# --- Fields -------------------------------------------------------------------------

def _int_bytes(value, size, signed=False):
    return int(value).to_bytes(size, "little", signed=signed)


def _coord_bytes(coord, width, signed=False):
    comp = width // 8
    if len(coord) != DIMS:
        raise FrameError(f"coordinate needs {DIMS} components, got {len(coord)}")
    try:
        return b"".join(_int_bytes(c, comp, signed) for c in coord)
    except OverflowError as exc:
        raise FrameError(f"coordinate component out of range: {coord}") from exc


def _pattern_bytes(pattern, width):
    return (_int_bytes(pattern.mask, 2) + _coord_bytes(pattern.lo, width)
            + _coord_bytes(pattern.hi, width))


def encode_fields(fields, values, *, width=COORD_WIDTH, value_width=VALUE_WIDTH):
    """``values`` is a dict by field name; returns the payload bytes."""
    out = bytearray()
    for field in fields:
        v = values[field.name]
        kind = field.kind
        try:
            if kind in ("u8", "u16", "u32", "u64"):
                out += _int_bytes(v, field_bytes(kind))
            elif kind == "s32":
                out += _int_bytes(v, 4, signed=True)
            elif kind == "value":
                out += _int_bytes(v, value_width // 8)
            elif kind == "coord":
                out += _coord_bytes(v, width)
            elif kind == "delta":
                out += _coord_bytes(v, width, signed=True)
            elif kind == "pattern":
                out += _pattern_bytes(v, width)
            elif kind == "deltas":
                for delta in v:
                    out += _coord_bytes(delta, width, signed=True)
            else:  # pragma: no cover - the ISA names only the kinds above
                raise FrameError(f"unknown field kind {kind}")
        except OverflowError as exc:
            raise FrameError(f"field {field.name}={v!r} does not fit {kind}") from exc
    return bytes(out)


def _read_coord(data, offset, width, signed=False):
    comp = width // 8
    coord = tuple(int.from_bytes(data[offset + i * comp: offset + (i + 1) * comp], "little",
                                 signed=signed) for i in range(DIMS))
    return coord, offset + DIMS * comp


def decode_fields(fields, payload, *, width=COORD_WIDTH, value_width=VALUE_WIDTH):
    """Payload bytes -> dict by field name. Raises FrameError on a size mismatch."""
    values = {}
    offset = 0
    hops = 0
    for field in fields:
        kind = field.kind
        size = field_bytes(kind, width=width, value_width=value_width, hops=hops)
        if offset + size > len(payload):
            raise FrameError(f"payload too short for field {field.name}")
        if kind in ("u8", "u16", "u32", "u64", "value"):
            values[field.name] = int.from_bytes(payload[offset:offset + size], "little")
        elif kind == "s32":
            values[field.name] = int.from_bytes(payload[offset:offset + size], "little", signed=True)
        elif kind in ("coord", "delta"):
            values[field.name], _ = _read_coord(payload, offset, width, signed=kind == "delta")
        elif kind == "pattern":
            mask = int.from_bytes(payload[offset:offset + 2], "little")
            lo, next_offset = _read_coord(payload, offset + 2, width)
            hi, _ = _read_coord(payload, next_offset, width)
            values[field.name] = Pattern(lo, hi, mask)
        elif kind == "deltas":
            values[field.name] = [_read_coord(payload, offset + i * DIMS * (width // 8), width,
                                              signed=True)[0] for i in range(hops)]
        if field.name == "hops":
            hops = values["hops"]
        offset += size
    if offset != len(payload):
        raise FrameError(f"payload has {len(payload)} bytes, expected {offset}")
    return values


# --- Frames ---------------------------------------------------------------------------

def _frame(sync, first, tag, payload):
    if len(payload) > 255:
        raise FrameError(f"payload of {len(payload)} bytes does not fit a frame")
    body = bytes([first & 0xFF, tag & 0xFF, len(payload)]) + bytes(payload)
    return bytes([sync]) + body + bytes([crc8(body)])


def encode_command(op, tag, payload):
    return _frame(CMD_SYNC, int(op), tag, payload)


def encode_response(status, tag, payload=b"", more=False):
    return _frame(RSP_SYNC, int(status) | (MORE if more else 0), tag, payload)


def command_frame(op, tag=0, *, width=COORD_WIDTH, value_width=VALUE_WIDTH, **values):
    """Build a whole command frame from named field values."""
    op = Op(op)
    return encode_command(op, tag, encode_fields(PAYLOAD[op], values, width=width,
                                                 value_width=value_width))


def response_frame(op, status, tag=0, *, more=False, width=COORD_WIDTH,
                   value_width=VALUE_WIDTH, **values):
    if more:
        fields = RECORD[op]
    elif not values:
        fields = ()
    elif "count" in values and len(values) == 1:
        fields = FINAL
    else:
        fields = RESULT[op]
    return encode_response(status, tag, encode_fields(fields, values, width=width,
                                                      value_width=value_width), more)


class FrameReceiver:
    """Byte-at-a-time frame receiver with resynchronisation.

    ``feed(data)`` returns a list of ``Command`` (good CRC) and
    ``("BAD_FRAME", tag)`` tuples, in arrival order. Works for either
    direction: pass ``sync=RSP_SYNC`` to receive responses.
    """

    HUNT, FIRST, TAG, LEN, PAYLOAD, CRC = range(6)

    def __init__(self, sync=CMD_SYNC, max_payload=MAX_PAYLOAD, check_length=True):
        self.sync = sync
        self.max_payload = max_payload
        self.check_length = check_length   # commands only: responses carry no opcode
        self.state = self.HUNT
        self.first = self.tag = self.length = 0
        self.payload = bytearray()

    def feed(self, data):
        events = []
        for byte in data:
            event = self.feed_byte(byte)
            if event is not None:
                events.append(event)
        return events

    def feed_byte(self, byte):
        s = self.state
        if s == self.HUNT:
            if byte == self.sync:
                self.state = self.FIRST
        elif s == self.FIRST:
            self.first = byte
            self.state = self.TAG
        elif s == self.TAG:
            self.tag = byte
            self.state = self.LEN
        elif s == self.LEN:
            self.length = byte
            self.payload = bytearray()
            if byte > self.max_payload or (self.check_length and self.first in _OPCODES
                                           and not length_fits(Op(self.first), byte)):
                self.state = self.HUNT
                return ("BAD_FRAME", self.tag)
            self.state = self.PAYLOAD if byte else self.CRC
        elif s == self.PAYLOAD:
            self.payload.append(byte)
            if len(self.payload) == self.length:
                self.state = self.CRC
        elif s == self.CRC:
            self.state = self.HUNT
            body = bytes([self.first, self.tag, self.length]) + bytes(self.payload)
            if crc8(body) != byte:
                return ("BAD_FRAME", self.tag)
            return Command(self.first, self.tag, bytes(self.payload))
        return None


def parse_responses(data):
    """Split a byte string of response frames into ``Response`` objects."""
    receiver = FrameReceiver(sync=RSP_SYNC, max_payload=255, check_length=False)
    out = []
    for event in receiver.feed(data):
        if isinstance(event, tuple):
            raise FrameError(f"corrupt response frame (tag {event[1]})")
        out.append(Response(Status(event.op & 0x0F), bool(event.op & MORE), event.tag,
                            event.payload))
    return out
