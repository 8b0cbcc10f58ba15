"""Assembler and disassembler for vTPU programs.

One instruction per line; ``#`` or ``;`` starts a comment; operands are
separated by commas::

    CPUT   2.1.3/4.7.2/9.2.2, 0x2a
    CGET   2.1.3/4.7.2/9.2.2
    CDEL   2.1.3/4.7.2/9.2.2
    CRANGE 1.*.*/*.*.*/[1:9].*.*
    CDELTA 1.1.1/1.1.1/1.1.1, 0.0.1/0.0.0/0.0.-1
    CNEAREST 1.1.1/1.1.1/1.1.1, 4
    CHIER  2.1.3/4.7.11/18.29.47, UP            # or DOWN
    CROUTE 2.1.3/4.7.11/18.29.47, 8             # HASH (default) or RANGE: ..., 4, RANGE
    CRTSET 0, 1.1.1/1.1.1/1.1.1, 3              # index, bound, node
    CATTEND 1.1.1/1.1.1/1.1.1, 2.*.*/*.*.*/*.*.*, 4   # DOT (default) or DISTANCE
    CMOE   2.1.3/4.7.11/18.29.47, 16
    CKG    person.1001.1/0.0.0/0.0.0, 1, 0.0.0/1.0.0/0.0.0; 0.0.0/1.0.0/0.0.0
    CDIGEST *.*.*/*.*.*/*.*.*

Coordinates may use labels (``person.1001.*``), interned per dimension
through a ``SymbolTable`` when one is given (``vtpu asm``/``vtpu run`` give
none, so there a word is refused: the rule is in ``vtpu.coord``). Every error
names the line, range errors included. Tags count up from 0, mod 256.
"""

import re

from .coord import (COMPONENT_NAMES, CoordError, Pattern, format_coord,
                    format_pattern, parse_coord, parse_pattern)
from .frame import FrameError, FrameReceiver, decode_fields
from .frame import command_frame
from .isa import (COORD_WIDTH, DIMS, FINAL, PAYLOAD, RECORD, RESULT, AttendMode, Dir, Op,
                  RouteMode, Status, field_bytes)

__all__ = ["AsmError", "Instruction", "parse_line", "assemble", "assemble_program",
           "disassemble", "format_instruction", "format_response"]


class AsmError(ValueError):
    pass


class Instruction:
    """One parsed instruction: opcode and ISA field values."""

    def __init__(self, op, fields, line=0):
        self.op, self.fields, self.line = Op(op), fields, line

    def frame(self, tag, width=COORD_WIDTH):
        return command_frame(self.op, tag, width=width, **self.fields)

    def __repr__(self):
        return f"Instruction({self.op.name}, {self.fields})"


# Operand grammar per opcode: what the error message says is expected.
SYNTAX = {
    Op.CGET: "coordinate", Op.CDEL: "coordinate", Op.CPUT: "coordinate, value",
    Op.CRANGE: "pattern", Op.CDIGEST: "pattern",
    Op.CDELTA: "coordinate, delta",
    Op.CNEAREST: "coordinate, k",
    Op.CHIER: "pattern, UP|DOWN",
    Op.CROUTE: "coordinate, n[, HASH|RANGE]",
    Op.CRTSET: "index, bound, node",
    Op.CATTEND: "coordinate, pattern, k[, DOT|DISTANCE]",
    Op.CMOE: "coordinate, n",
    Op.CKG: "coordinate, entity, delta[; delta ...]",
}


def _number(text, what):
    try:
        return int(text, 0)
    except ValueError:
        raise AsmError(f"{what} must be a number, got {text!r}") from None


def _delta(text):
    parts = re.split(r"[./]", text.strip())
    if len(parts) != DIMS or text.count("/") != 2:
        raise AsmError(f"delta {text!r} needs {DIMS} signed components a.b.c/d.e.f/g.h.i")
    return tuple(_number(p, "delta component") for p in parts)


def _keyword(text, enum, what):
    try:
        return enum[text.strip().upper()]
    except KeyError:
        names = "|".join(e.name for e in enum)
        raise AsmError(f"{what} must be {names}, got {text!r}") from None


def parse_line(text, symbols=None, width=COORD_WIDTH, line=0):
    """One source line -> Instruction, or None for a blank/comment line."""
    code = re.split(r"[#;]", text, maxsplit=1)[0] if not text.lstrip().upper().startswith("CKG") \
        else text.split("#", 1)[0]
    code = code.strip()
    if not code:
        return None
    mnemonic, _, rest = code.partition(" ")
    try:
        op = Op[mnemonic.upper()]
    except KeyError:
        raise AsmError(f"unknown instruction {mnemonic!r}") from None
    args = [a.strip() for a in rest.split(",")] if rest.strip() else []
    coord = lambda t: parse_coord(t, width=width, symbols=symbols)  # noqa: E731
    pattern = lambda t: parse_pattern(t, width=width, symbols=symbols)  # noqa: E731
    counts = {Op.CROUTE: (2, 3), Op.CATTEND: (3, 4)}
    lo, hi = counts.get(op, (len(SYNTAX[op].split(",")),) * 2)
    if not lo <= len(args) <= hi:
        raise AsmError(f"{op.name} expects '{SYNTAX[op]}', got {rest.strip()!r}")
    try:
        if op in (Op.CGET, Op.CDEL):
            fields = {"coord": coord(args[0])}
        elif op == Op.CPUT:
            fields = {"coord": coord(args[0]), "value": _number(args[1], "value")}
        elif op in (Op.CRANGE, Op.CDIGEST):
            fields = {"pattern": pattern(args[0])}
        elif op == Op.CDELTA:
            fields = {"coord": coord(args[0]), "delta": _delta(args[1])}
        elif op == Op.CNEAREST:
            fields = {"coord": coord(args[0]), "k": _number(args[1], "k")}
        elif op == Op.CHIER:
            fields = {"pattern": pattern(args[0]), "dir": _keyword(args[1], Dir, "direction")}
        elif op == Op.CROUTE:
            mode = _keyword(args[2], RouteMode, "mode") if len(args) > 2 else RouteMode.HASH
            fields = {"coord": coord(args[0]), "n": _number(args[1], "n"), "mode": mode}
        elif op == Op.CRTSET:
            fields = {"index": _number(args[0], "index"), "bound": coord(args[1]),
                      "node": _number(args[2], "node")}
        elif op == Op.CATTEND:
            mode = _keyword(args[3], AttendMode, "mode") if len(args) > 3 else AttendMode.DOT
            fields = {"coord": coord(args[0]), "pattern": pattern(args[1]),
                      "k": _number(args[2], "k"), "mode": mode}
        elif op == Op.CMOE:
            fields = {"coord": coord(args[0]), "n": _number(args[1], "n")}
        else:  # CKG
            deltas = [_delta(d) for d in args[2].split(";")]
            fields = {"coord": coord(args[0]), "entity": _number(args[1], "entity"),
                      "hops": len(deltas), "deltas": deltas}
    except CoordError as exc:
        raise AsmError(str(exc)) from None
    _check_ranges(op, fields, width)
    instruction = Instruction(op, fields, line)
    try:
        instruction.frame(0, width)          # anything else the frame cannot carry
    except ValueError as exc:
        raise AsmError(str(exc)) from None
    return instruction


def _check_ranges(op, fields, width):
    """Every number fits its field: ``value -1 is outside 0..2**64-1``, not an encoder error."""
    for field in PAYLOAD[op]:
        value = fields[field.name]
        if field.kind in ("delta", "deltas"):
            half = 1 << (width - 1)
            for delta in [value] if field.kind == "delta" else value:
                for dim, d in enumerate(delta):
                    if not -half <= d < half:
                        raise AsmError(f"delta {_delta_text(delta)}, component {dim + 1} "
                                       f"({COMPONENT_NAMES[dim]}): {d} is outside "
                                       f"{-half}..{half - 1}")
        elif field.kind not in ("coord", "pattern"):       # parse_coord checked those
            bits = 8 * field_bytes(field.kind)
            lo, hi = (-(1 << bits - 1), (1 << bits - 1) - 1) if field.kind == "s32" else \
                (0, (1 << bits) - 1)
            if not lo <= value <= hi:
                raise AsmError(f"{field.name} {value} is outside {lo}..{hi}")


def assemble_program(text, symbols=None, filename="<program>", width=COORD_WIDTH):
    """Source text -> list of Instructions; errors carry file:line."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            instruction = parse_line(line, symbols, width, number)
        except AsmError as exc:
            raise AsmError(f"{filename}:{number}: {exc}") from None
        if instruction is not None:
            out.append(instruction)
    return out


def assemble(text, symbols=None, filename="<program>", width=COORD_WIDTH):
    """Source text -> command frame bytes, tags 0, 1, 2, ... mod 256."""
    program = assemble_program(text, symbols, filename, width)
    return b"".join(ins.frame(i % 256, width) for i, ins in enumerate(program))


def _delta_text(delta):
    d = [str(v) for v in delta]
    return f"{d[0]}.{d[1]}.{d[2]}/{d[3]}.{d[4]}.{d[5]}/{d[6]}.{d[7]}.{d[8]}"


def format_instruction(op, fields, symbols=None):
    op = Op(op)
    co = lambda v: format_coord(v, symbols)  # noqa: E731
    pa = lambda v: format_pattern(v, symbols)  # noqa: E731
    f = fields
    if op in (Op.CGET, Op.CDEL):
        args = [co(f["coord"])]
    elif op == Op.CPUT:
        args = [co(f["coord"]), hex(f["value"])]
    elif op in (Op.CRANGE, Op.CDIGEST):
        args = [pa(f["pattern"])]
    elif op == Op.CDELTA:
        args = [co(f["coord"]), _delta_text(f["delta"])]
    elif op == Op.CNEAREST:
        args = [co(f["coord"]), str(f["k"])]
    elif op == Op.CHIER:
        args = [pa(f["pattern"]), Dir(f["dir"]).name if f["dir"] in (0, 1) else str(f["dir"])]
    elif op == Op.CROUTE:
        args = [co(f["coord"]), str(f["n"]),
                RouteMode(f["mode"]).name if f["mode"] in (0, 1) else str(f["mode"])]
    elif op == Op.CRTSET:
        args = [str(f["index"]), co(f["bound"]), str(f["node"])]
    elif op == Op.CATTEND:
        args = [co(f["coord"]), pa(f["pattern"]), str(f["k"]),
                AttendMode(f["mode"]).name if f["mode"] in (0, 1) else str(f["mode"])]
    elif op == Op.CMOE:
        args = [co(f["coord"]), str(f["n"])]
    else:
        args = [co(f["coord"]), str(f["entity"]), "; ".join(_delta_text(d) for d in f["deltas"])]
    return f"{op.name} " + ", ".join(args)


def disassemble(data, symbols=None, width=COORD_WIDTH):
    """Command frame bytes -> program text (one line per frame)."""
    lines = []
    for event in FrameReceiver().feed(data):
        if isinstance(event, tuple):
            lines.append(f"# bad frame (tag {event[1]})")
            continue
        try:
            op = Op(event.op)
            fields = decode_fields(PAYLOAD[op], event.payload, width=width)
        except ValueError:
            lines.append(f"# undecodable frame: opcode 0x{event.op:02x}, tag {event.tag}")
            continue
        lines.append(format_instruction(op, fields, symbols))
    return "\n".join(lines) + ("\n" if lines else "")


def _name(enum, value, what):
    """``CGET``, or ``op 0x7f`` for a number that names no member."""
    try:
        return enum(value).name
    except ValueError:
        return f"{what} {value:#04x}" if what == "op" else f"{what} {value}"


def _layouts(op, more):
    """Payload layouts a response frame to ``op`` may carry, the expected one first.

    A record frame (MORE) holds a RECORD; a final one the FINAL count of a
    multi-result instruction, or the RESULT of a single-frame one. The others of
    the same opcode follow, so that a record sent without its MORE flag (or a
    count with it) still reads as what it is."""
    try:
        op = Op(op)
    except ValueError:
        return []
    record, result = RECORD.get(op), RESULT.get(op)
    final = FINAL if op in RECORD else None
    order = [record, final, result] if more else [final, result, record]
    return [layout for layout in order if layout is not None]


def format_response(op, response, symbols=None):
    """``#3 CGET OK value=0x2a``: one line per response frame.

    ``op`` is the opcode of the command answered (an ``Op``, a raw opcode
    number, or None if unknown); ``response`` a ``Response`` or a receiver's
    ``("CORRUPT", tag)`` event. Never raises, whatever a device sent: a
    payload that no layout of ``op`` fits prints as ``payload=<hex>``.
    """
    if isinstance(response, tuple):
        return f"#{response[1]} {response[0]} frame (bad CRC or length)"
    head = f"#{response.tag} {'?' if op is None else _name(Op, op, 'op')} " \
        f"{_name(Status, response.status, 'status')}"
    if response.more:
        head += " +"
    if not response.payload:
        return head
    for layout in [] if op is None else _layouts(op, response.more):
        try:
            fields = decode_fields(layout, response.payload)
        except FrameError:
            continue
        break
    else:
        return head + f" payload={response.payload.hex()}"
    words = []
    for key, value in fields.items():
        if isinstance(value, Pattern):
            # mask bits past the last component are no wildcard: shown, or lost
            stray = f" (mask {value.mask:#06x})" if value.mask >> DIMS else ""
            words.append(f"{key}={format_pattern(value, symbols)}{stray}")
        elif isinstance(value, tuple):
            words.append(format_coord(value, symbols) if key == "coord" else
                         f"{key}={format_coord(value, symbols)}")
        elif key in ("value", "digest"):
            words.append(f"{key}={value:#x}")
        else:
            words.append(f"{key}={value}")
    return " ".join([head] + words)
