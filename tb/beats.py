"""Translate between the golden model's values and the RTL's layout beats (the
instruction-level streams of the sentron tests and of make sim's array check)."""

from rtl.layouts import CHIER_UP_FLAG, COMMAND_FIELD
from vtpu.coord import Pattern, pack
from vtpu.isa import DIMS, Dir, Status

__all__ = ["command_members", "response_beats", "set_members", "beat_bytes", "pack_members",
           "unpack_members"]


def _packed(value):
    if isinstance(value, Pattern):
        return value.mask | pack(value.lo) << 16 | pack(value.hi) << (16 + 16 * DIMS)
    if isinstance(value, tuple):
        return pack(tuple(v & 0xFFFF for v in value))
    return int(value)


def command_members(op, tag, fields, error=Status.OK):
    """command_layout member values for an instruction given by ISA fields."""
    members = {"error": error, "tag": tag, "op": op}
    for name, value in fields.items():
        if name == "deltas":
            # every hop's delta, hop 0 in the low bits; and how many the frame
            # carried, as the decoder counts them from its length
            members["deltas_sent"] = len(value)
            value = sum(_packed(d) << (16 * DIMS * n) for n, d in enumerate(value))
        members.setdefault(COMMAND_FIELD[name], _packed(value))
    return members


def response_beats(op, tag, result, direction=None):
    """The response_layout beats the sequencer must send for a model Result."""
    beats = []
    for record in result.records:
        beats.append({"op": op, "tag": tag, "status": Status.OK, "more": 1,
                      "coord": pack(record["coord"]), "value": record.get("value", 0),
                      "aux": record.get("distance", record.get("score", 0)) & 0xFFFFFFFF})
    final = {"op": op, "tag": tag, "status": result.status, "more": 0, "aux": len(result.records)}
    f = result.fields
    if "pattern" in f and direction in (Dir.UP, None):
        final.update(coord=pack(f["pattern"].lo), hi=pack(f["pattern"].hi),
                     mask=f["pattern"].mask | CHIER_UP_FLAG)
    if "coord" in f:
        final["coord"] = pack(f["coord"])
    for name in ("value", "digest"):
        if name in f:
            final["value"] = f[name]
    for name in ("node", "expert", "count"):
        if name in f:
            final["aux"] = f[name]
    beats.append(final)
    return beats


def set_members(ctx, view, members):
    for name, value in members.items():
        target = getattr(view, name)
        ctx.set(target if name in ("op", "error", "status") or isinstance(value, int) and
                not hasattr(target, "as_value") else target.as_value(), value)


def beat_bytes(beat):
    """The frame the response encoder sends for one response_layout beat
    (a dict of ints), following its documented format rules."""
    from vtpu.coord import unpack
    from vtpu.frame import encode_fields, encode_response
    from vtpu.isa import FINAL, RECORD, RESULT, Op

    status, more, op, tag = Status(beat["status"]), beat["more"], beat["op"], beat["tag"]
    values = {"coord": unpack(beat.get("coord", 0)), "value": beat.get("value", 0),
              "digest": beat.get("value", 0), "count": beat.get("aux", 0),
              "node": beat.get("aux", 0) & 0xFFFF, "expert": beat.get("aux", 0) & 0xFFFF,
              "distance": beat.get("aux", 0), "score": _signed32(beat.get("aux", 0)),
              "pattern": Pattern(unpack(beat.get("coord", 0)), unpack(beat.get("hi", 0)),
                                 beat.get("mask", 0) & ~CHIER_UP_FLAG)}
    if status in (Status.BAD_FRAME, Status.BAD_OPCODE):
        fields = ()
    elif more:
        fields = RECORD[Op(op)]
    elif op == Op.CHIER:
        fields = () if status != Status.OK else (
            RESULT[Op.CHIER] if beat.get("mask", 0) & CHIER_UP_FLAG else FINAL)
    elif op in RECORD:
        fields = FINAL
    elif status == Status.OK:
        fields = RESULT.get(Op(op), ())
    else:
        fields = ()
    return encode_response(status, tag, encode_fields(fields, values), more=bool(more))


def _signed32(v):
    return v - (1 << 32) if v >> 31 & 1 else v


def pack_members(layout, members):
    """A layout's top-level members (ints) as one word, as the RTL sees it."""
    word = 0
    for name, value in members.items():
        field = layout[name]
        word |= (int(value) & ((1 << field.width) - 1)) << field.offset
    return word


def unpack_members(layout, word):
    """A word of ``layout`` as a dict of its top-level members (ints)."""
    return {name: word >> field.offset & ((1 << field.width) - 1) for name, field in layout}
