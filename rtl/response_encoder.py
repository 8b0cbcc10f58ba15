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
The response is read where it is, in the producer's output register, and
taken (``i.ready``) with the frame's last byte: the encoder stores no payload.
"""

from amaranth.hdl import Cat, Module, Mux, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vtpu.isa import (COORD_WIDTH, FINAL, RECORD, RESULT, RSP_SYNC, VALUE_WIDTH, Op,
                      Status, field_bytes)

from .crc import crc8_next
from .layouts import CHIER_UP_FLAG, RESPONSE_FIELD, response_layout

__all__ = ["ResponseEncoder"]

GROUP = 16      # byte sources per first-step multiplexer (two LUT levels on an ECP5)


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
        i = self.i.payload

        formats = {"EMPTY": ()}
        for op, fields in RECORD.items():
            formats[f"RECORD_{op.name}"] = fields
        for op, fields in RESULT.items():
            if fields:
                formats[f"RESULT_{op.name}"] = fields
        formats["FINAL"] = FINAL
        names = list(formats)

        # Every distinct payload byte any format sends, numbered once; a format
        # is then a list of numbers into it. The byte on the wire is one narrow
        # mux over these, addressed by a small (format, index) table, instead of
        # a payload-wide shift register loaded through a payload-wide mux.
        byte_sources, numbering = [], {}
        orders = {}
        for name, fields in formats.items():
            order = []
            for source in self._sources(i, fields):
                key = repr(source)
                if key not in numbering:
                    numbering[key] = len(byte_sources)
                    byte_sources.append(source)
                order.append(numbering[key])
            orders[name] = order

        # Choose the format of the response on the input (held stable while valid).
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

        # Which byte source each (format, index) sends: a small ROM addressed by
        # the format's first entry plus the byte index, read synchronously (a
        # block RAM, not a LUT case tree, where the family has small ones).
        rom_init, starts = [], {}
        for name in names:
            starts[name] = len(rom_init)
            rom_init += orders[name]
        m.submodules.order = order = Memory(
            shape=range(max(2, len(byte_sources))), depth=max(2, len(rom_init)), init=rom_init)
        order_r = order.read_port()

        # The payload byte is picked in two registered steps: within a group of
        # GROUP sources by the low bits of its number (``picked``), then the group.
        # The ROM is read one byte ahead of that, starting while the header goes out.
        groups = [byte_sources[g:g + GROUP] for g in range(0, len(byte_sources), GROUP)]
        picked = [Signal(8, name=f"picked{g}") for g in range(len(groups))]
        group = Signal(range(max(2, len(groups))))
        rom_range = range(max(2, len(rom_init)) + 1)
        address = Signal(rom_range)        # of the number the ROM holds now
        address_next = Signal(rom_range)
        step = Signal()                    # ``picked`` takes the ROM's number; the ROM reads on
        m.d.comb += order_r.addr.eq(Mux(step, address_next, address))
        number = order_r.data
        with m.If(step):
            m.d.sync += [address.eq(address_next), address_next.eq(address_next + 1),
                         group.eq(number // GROUP)]
            for g, sources in enumerate(groups):
                with m.Switch(number % GROUP):
                    for n, expr in enumerate(sources):
                        with m.Case(n):
                            m.d.sync += picked[g].eq(expr)
        payload_byte = Signal(8)
        with m.Switch(group):
            for g in range(len(groups)):
                with m.Case(g):
                    m.d.comb += payload_byte.eq(picked[g])

        # The frame's format, its first ROM entry and length, from a register of
        # the format: no decode of the response sits in front of the ROM address.
        form = Signal(range(len(names)))
        length = Signal(8)
        left = Signal(8)          # payload bytes after the next one
        start, start_next = Signal(rom_range), Signal(rom_range)
        form_length = Signal(8)
        with m.Switch(form):
            for n, name in enumerate(names):
                with m.Case(n):
                    m.d.comb += [start.eq(starts[name]), start_next.eq(starts[name] + 1),
                                 form_length.eq(len(orders[name]))]

        # The output is a register. ``crc`` covers the frame's bytes (from STAT)
        # before the one in it (``counted``: that one is a frame byte too), so the
        # check byte is one CRC step from flops.
        out = self.o
        advance = ~out.valid | out.ready
        crc = Signal(8)
        counted = Signal()
        with m.If(out.valid & out.ready):
            m.d.sync += out.valid.eq(0)

        def send(value, counts, then):
            with m.If(advance):
                m.d.sync += [out.payload.eq(value), out.valid.eq(1), counted.eq(counts)]
                with m.If(counted):
                    m.d.sync += crc.eq(crc8_next(crc, out.payload))
                m.next = then

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.i.valid):
                    m.d.sync += form.eq(chosen)
                    m.next = "SYNC"
            with m.State("SYNC"):
                m.d.sync += [address.eq(start), address_next.eq(start_next),
                             length.eq(form_length), left.eq(form_length - 1)]
                send(RSP_SYNC, 0, "STAT")
                m.d.sync += crc.eq(0)
            with m.State("STAT"):
                send(Value.cast(i.status) | (i.more << 7), 1, "TAG")
            with m.State("TAG"):
                m.d.comb += step.eq(advance)
                send(i.tag, 1, "LEN")
            with m.State("LEN"):
                send(length, 1, "PAYLOAD")
                with m.If(advance & (length == 0)):
                    m.next = "CRC"
            with m.State("PAYLOAD"):
                m.d.comb += step.eq(advance)
                send(payload_byte, 1, "PAYLOAD")
                with m.If(advance):
                    m.d.sync += left.eq(left - 1)
                    with m.If(left == 0):
                        m.next = "CRC"
            with m.State("CRC"):
                send(crc8_next(crc, out.payload), 0, "IDLE")
                # The response is taken only now: it stays in the producer's
                # output register while its bytes are picked.
                m.d.comb += self.i.ready.eq(advance)
        return m
