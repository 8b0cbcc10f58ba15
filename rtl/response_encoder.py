"""Response encoder: answers in, response frame bytes out, one byte per clock.

Byte-exact with ``vtpu.model.Model.answer``. Which payload a response carries
follows from its opcode, status and MORE flag:

  * BAD_FRAME / BAD_OPCODE: empty (the opcode may be garbage);
  * MORE set: the opcode's RECORD fields;
  * CHIER: an error is empty; an OK answer is UP's pattern when ``mask`` has
    ``CHIER_UP_FLAG``, else DOWN's FINAL count;
  * other multi-result opcodes: FINAL (the record count), whatever the status;
  * other opcodes: RESULT fields when OK, empty otherwise.

The formats are enumerated from the ISA's field lists at elaboration; each is
a list of byte sources in ``response_layout`` members (``RESPONSE_FIELD``).
"""

from amaranth.hdl import Cat, Module, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from vtpu.isa import (COORD_WIDTH, FINAL, RECORD, RESULT, RSP_SYNC, VALUE_WIDTH, Op,
                      Status, field_bytes)

from .crc import crc8_next
from .layouts import CHIER_UP_FLAG, RESPONSE_FIELD, response_layout

__all__ = ["ResponseEncoder"]


class ResponseEncoder(wiring.Component):
    def __init__(self, width=COORD_WIDTH, value_width=VALUE_WIDTH):
        self.width, self.value_width = width, value_width
        super().__init__({
            "i": In(stream.Signature(response_layout(width, value_width))),
            "o": Out(stream.Signature(8)),
        })

    def _sources(self, rsp, fields):
        """Byte expressions of one payload format, in wire order."""
        out = []
        for field in fields:
            size = field_bytes(field.kind, width=self.width, value_width=self.value_width)
            if field.kind == "pattern":
                bits = [Value.cast(rsp.mask) & ~CHIER_UP_FLAG, Value.cast(rsp.coord),
                        Value.cast(rsp.hi)]
                sizes = [2, size // 2 - 1, size // 2 - 1]
            else:
                bits, sizes = [Value.cast(getattr(rsp, RESPONSE_FIELD[field.name]))], [size]
            for value, nbytes in zip(bits, sizes):
                out += [value[8 * i: 8 * i + 8] for i in range(nbytes)]
        return out

    def elaborate(self, platform):
        m = Module()
        rsp = Signal(response_layout(self.width, self.value_width))

        formats = {"EMPTY": ()}
        for op, fields in RECORD.items():
            formats[f"RECORD_{op.name}"] = fields
        for op, fields in RESULT.items():
            if fields:
                formats[f"RESULT_{op.name}"] = fields
        formats["FINAL"] = FINAL
        names = list(formats)
        length = Signal(8)
        index = Signal(8)
        crc = Signal(8)

        # Choose the format of the incoming response (comb, latched on accept).
        i = self.i.payload
        chosen = Signal(range(len(names)))
        multi_ops = [op for op in RECORD if op != Op.CHIER]
        with m.If((i.status == Status.BAD_FRAME) | (i.status == Status.BAD_OPCODE)):
            m.d.comb += chosen.eq(names.index("EMPTY"))
        with m.Elif(i.more):
            m.d.comb += chosen.eq(names.index("EMPTY"))
            with m.Switch(i.op):
                for op in RECORD:
                    with m.Case(op):
                        m.d.comb += chosen.eq(names.index(f"RECORD_{op.name}"))
        with m.Elif(i.op == Op.CHIER):
            with m.If(i.status != Status.OK):
                m.d.comb += chosen.eq(names.index("EMPTY"))
            with m.Elif(Value.cast(i.mask) & CHIER_UP_FLAG):
                m.d.comb += chosen.eq(names.index("RESULT_CHIER"))
            with m.Else():
                m.d.comb += chosen.eq(names.index("FINAL"))
        with m.Else():
            m.d.comb += chosen.eq(names.index("EMPTY"))
            with m.Switch(i.op):
                for op in multi_ops:
                    with m.Case(op):
                        m.d.comb += chosen.eq(names.index("FINAL"))
                for op, fields in RESULT.items():
                    if fields and op != Op.CHIER:
                        with m.Case(op):
                            with m.If(i.status == Status.OK):
                                m.d.comb += chosen.eq(names.index(f"RESULT_{op.name}"))
        chosen_length = Signal(8)
        with m.Switch(chosen):
            for n, name in enumerate(names):
                with m.Case(n):
                    m.d.comb += chosen_length.eq(len(self._sources(i, formats[name])))

        # The chosen payload, flattened in wire order, is latched on accept and
        # shifted out a byte per clock.
        widest = max(len(self._sources(i, f)) for f in formats.values())
        flat = Signal(8 * widest)
        with m.Switch(chosen):
            for n, name in enumerate(names):
                sources = self._sources(i, formats[name])
                if sources:
                    with m.Case(n):
                        m.d.comb += flat.eq(Cat(*sources))
        shift = Signal(8 * widest)
        payload_byte = shift[:8]

        out = self.o
        sent = out.valid & out.ready
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid):
                    m.d.sync += [rsp.eq(i), length.eq(chosen_length), shift.eq(flat),
                                 index.eq(0), crc.eq(0)]
                    m.next = "SYNC"
            with m.State("SYNC"):
                m.d.comb += [out.valid.eq(1), out.payload.eq(RSP_SYNC)]
                with m.If(sent):
                    m.next = "STAT"
            for state, value, following in (
                    ("STAT", Value.cast(rsp.status) | (rsp.more << 7), "TAG"),
                    ("TAG", rsp.tag, "LEN"),
                    ("LEN", length, None)):
                with m.State(state):
                    m.d.comb += [out.valid.eq(1), out.payload.eq(value)]
                    with m.If(sent):
                        m.d.sync += crc.eq(crc8_next(crc, value))
                        if following:
                            m.next = following
                        else:
                            m.next = "PAYLOAD"
                            with m.If(length == 0):
                                m.next = "CRC"
            with m.State("PAYLOAD"):
                m.d.comb += [out.valid.eq(1), out.payload.eq(payload_byte)]
                with m.If(sent):
                    m.d.sync += [crc.eq(crc8_next(crc, payload_byte)), index.eq(index + 1),
                                 shift.eq(shift >> 8)]
                    with m.If(index + 1 == length):
                        m.next = "CRC"
            with m.State("CRC"):
                m.d.comb += [out.valid.eq(1), out.payload.eq(crc)]
                with m.If(sent):
                    m.next = "IDLE"
        return m
