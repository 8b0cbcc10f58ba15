"""Data layouts shared by the sentron's blocks, derived from ``vtpu.isa``.

A decoded instruction (``command_layout``) leaves the frame decoder, goes
through the array and sequencer, and each answer (``response_layout``) goes
to the response encoder, which turns it into frame bytes using the ISA's field
lists. Fields are shared between opcodes rather than laid out per opcode so
that the datapath stays one word wide:

================  =======================================================
command field     used by
================  =======================================================
``coord``         CGET CPUT CDEL CDELTA CROUTE CMOE CNEAREST CATTEND(q)
                  CKG; CRTSET's bound
``operand``       CPUT's value (low bits) or CDELTA's delta
                  (``delta_layout``): never both in one instruction, so one
                  register carries either down the pipeline
``pattern``       CRANGE CHIER CDIGEST CATTEND
``deltas``        CKG's deltas, up to MAX_HOPS (``delta_layout`` each)
``deltas_sent``   how many deltas the frame's length carried (CKG), for the
                  hop unit to hold against ``hops``
``arg``           n (CROUTE, CMOE), k (CNEAREST, CATTEND), node (CRTSET),
                  hops (CKG)
``mode``          dir (CHIER), mode (CROUTE, CATTEND), index (CRTSET),
                  entity (CKG)
``error``         a status the decoder already decided (BAD_FRAME,
                  BAD_OPCODE); the sequencer answers it in order
================  =======================================================

================  =======================================================
response field    used by
================  =======================================================
``coord``         records' coordinate; CDELTA's result; CHIER UP's lo
``hi``, ``mask``  CHIER UP's pattern
``value``         CGET, records' value; CDIGEST's digest
``aux``           count (FINAL, CDIGEST), node, expert, distance, score
================  =======================================================
"""

from amaranth.hdl import Cat, Mux, Value, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import Out

from vtpu.isa import COORD_WIDTH, DIMS, HASH_WIDTH, MAX_HOPS, VALUE_WIDTH, Op, Status

__all__ = ["pattern_turn_signature", "turn_pattern", "coord_layout", "delta_layout", "pattern_layout", "command_layout",
           "hashed_command_layout", "response_layout", "COMMAND_FIELD", "RESPONSE_FIELD",
           "CHIER_UP_FLAG"]


def coord_layout(width=COORD_WIDTH):
    """Component 0 in the low bits: the same order as ``vtpu.coord.pack``."""
    return data.ArrayLayout(unsigned(width), DIMS)


def delta_layout(width=COORD_WIDTH):
    return data.ArrayLayout(signed(width), DIMS)


def pattern_layout(width=COORD_WIDTH):
    return data.StructLayout({
        "mask": unsigned(16),
        "lo":   coord_layout(width),
        "hi":   coord_layout(width),
    })


def pattern_turn_signature(width=COORD_WIDTH):
    """How a sentron has its sender turn the pattern it holds (``SerialScan``;
    ``FrameDecoder``): on ``turn`` the bounds and the mask move down a
    component, so component 0 shows the next one and nine turns bring them
    back; with ``replace`` the bounds' ``lo`` takes ``component`` in place of
    the one leaving (how a record's key is put where ``lo`` was, and ``lo``
    put back)."""
    return wiring.Signature({"turn": Out(1), "replace": Out(1), "component": Out(width)})


def turn_pattern(m, turn, lo, hi, mask, width=COORD_WIDTH):
    """What a sender of ``pattern_turn_signature`` does with the registers
    holding a pattern's ``lo``, ``hi`` (DIMS components of ``width`` bits each)
    and the mask's DIMS wildcard bits: on ``turn.turn`` each moves down a
    component, ``lo`` taking ``turn.component`` at the top on ``turn.replace``."""
    lo, hi = Value.cast(lo), Value.cast(hi)
    with m.If(turn.turn):
        m.d.sync += [lo.eq(Cat(lo[width:], Mux(turn.replace, turn.component, lo[:width]))),
                     hi.eq(hi.rotate_right(width)), mask.eq(mask.rotate_right(1))]


def command_layout(width=COORD_WIDTH, value_width=VALUE_WIDTH):
    return data.StructLayout({
        "op":      Op,
        "tag":     unsigned(8),
        "error":   Status,
        "coord":   coord_layout(width),
        "operand": unsigned(max(value_width, DIMS * width)),
        "pattern": pattern_layout(width),
        "arg":     unsigned(16),
        "mode":    unsigned(8),
        # Only the hop unit reads these (rtl/hop_unit.py): the sentrons' link
        # registers (``SentronArray``, kept in the netlist) leave them out, so
        # past the hop unit nothing loads them and synthesis drops their flops.
        "deltas":  data.ArrayLayout(delta_layout(width), MAX_HOPS),
        "deltas_sent": range(MAX_HOPS + 1),
    })


def hashed_command_layout(width=COORD_WIDTH, value_width=VALUE_WIDTH):
    """A command as the array hands it to a sentron: with its coordinate's table
    hash (``vtpu.hash.table_hash``), whether it may hold the sentron for more
    than a clock (``waits``, ``rtl.sentron.pipelined_sequencer.may_wait``) and whether
    its pattern is BAD_ARG (``pattern_bad``, ``rtl.sentron.execute.pattern_bad``: nine
    magnitude compares ORed, too deep for a pipeline stage at 125 MHz), all
    worked out upstream. The command's members keep their offsets, so the low
    bits are a ``command_layout``."""
    members = {name: field.shape for name, field in command_layout(width, value_width)}
    return data.StructLayout({**members, "hash": unsigned(HASH_WIDTH), "waits": 1,
                              "pattern_bad": 1})


def response_layout(width=COORD_WIDTH, value_width=VALUE_WIDTH):
    return data.StructLayout({
        "op":     Op,
        "tag":    unsigned(8),
        "status": Status,
        "more":   unsigned(1),
        "coord":  coord_layout(width),
        "hi":     coord_layout(width),
        "mask":   unsigned(16),
        "value":  unsigned(value_width),
        "aux":    unsigned(32),
    })


# Which command_layout member receives each ISA payload field (bytes land in
# order: every shared member is laid out in wire order, component 0 / low byte
# first).
COMMAND_FIELD = {
    "coord": "coord", "bound": "coord", "value": "operand", "delta": "operand",
    "deltas": "deltas", "pattern": "pattern",
    "k": "arg", "n": "arg", "node": "arg", "hops": "arg",
    "dir": "mode", "mode": "mode", "index": "mode", "entity": "mode",
}

# Which response_layout member feeds each ISA result field.
RESPONSE_FIELD = {
    "coord": "coord", "value": "value", "digest": "value",
    "count": "aux", "node": "aux", "expert": "aux", "distance": "aux", "score": "aux",
}

# Set in a CHIER response's ``mask`` to mark an UP answer (a pattern) rather than
# DOWN's final frame (a count): bit 15 is never a wildcard bit since DIMS = 9.
CHIER_UP_FLAG = 1 << 15
