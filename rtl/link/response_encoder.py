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

The byte out is one multiplexer over the sources, addressed by the ROM's
registered output. A version with a registered output and the byte picked in
two registered steps (GROUP=16 sources, then the group) had a shorter path,
but with it the four-sentron ECP5 build stopped routing (nextpnr's router1
stalled at ~45k-60k unrouted arcs in four runs, seeds 1 and 2); with this one
it routed (95.19 MHz, single clock). On the ECP5 the encoder now runs on the
host link's 39.06 MHz clock (``VTPU(host_domain=...)``), where this one meets
its clock (79.47 MHz).
"""

from amaranth.hdl import Module, Mux, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vtpu.isa import (COORD_WIDTH, FINAL, RECORD, RESULT, RSP_SYNC, VALUE_WIDTH, Op,
                      Status, field_bytes)

from .crc import crc8_next
from ..layouts import CHIER_UP_FLAG, RESPONSE_FIELD, response_layout

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
        # the format's first entry plus the byte index, read synchronously one
        # clock ahead (a block RAM, not a LUT case tree).
        rom_init, starts = [], {}
        for name in names:
            starts[name] = len(rom_init)
            rom_init += orders[name]
        m.submodules.order = order = Memory(
            shape=range(max(2, len(byte_sources))), depth=max(2, len(rom_init)), init=rom_init)
        order_r = order.read_port()

        # The ROM address and the one after it are kept in registers, so the
        # address for the next clock is a 2:1 choice on "byte sent", not an adder.
        rom_range = range(max(2, len(rom_init)) + 1)
        address, address_next = Signal(rom_range), Signal(rom_range)
        length = Signal(8)
        last = Signal(8)          # length - 1: the PAYLOAD state's last index
        index = Signal(8)
        crc = Signal(8)
        chosen_length = Signal(8)
        chosen_start = Signal(rom_range)
        with m.Switch(chosen):
            for n, name in enumerate(names):
                with m.Case(n):
                    m.d.comb += [chosen_length.eq(len(orders[name])),
                                 chosen_start.eq(starts[name])]

        next_byte = Signal()      # PAYLOAD moves on to its next byte this clock
        m.d.comb += order_r.addr.eq(Mux(next_byte, address_next, address))
        payload_byte = Signal(8)
        with m.Switch(order_r.data):
            for number, expr in enumerate(byte_sources):
                with m.Case(number):
                    m.d.comb += payload_byte.eq(expr)

        out = self.o
        sent = out.valid & out.ready
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.i.valid):
                    m.d.sync += [address.eq(chosen_start), address_next.eq(chosen_start + 1),
                                 length.eq(chosen_length), last.eq(chosen_length - 1),
                                 index.eq(0), crc.eq(0)]
                    m.next = "SYNC"
            with m.State("SYNC"):
                m.d.comb += [out.valid.eq(1), out.payload.eq(RSP_SYNC)]
                with m.If(sent):
                    m.next = "STAT"
            for state, value, following in (
                    ("STAT", Value.cast(i.status) | (i.more << 7), "TAG"),
                    ("TAG", i.tag, "LEN"),
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
                    m.d.comb += next_byte.eq(1)
                    m.d.sync += [crc.eq(crc8_next(crc, payload_byte)), index.eq(index + 1),
                                 address.eq(address_next), address_next.eq(address_next + 1)]
                    with m.If(index == last):
                        m.next = "CRC"
            with m.State("CRC"):
                m.d.comb += [out.valid.eq(1), out.payload.eq(crc)]
                with m.If(sent):
                    # The response is taken only now: it stays in the producer's
                    # output register while its bytes go out.
                    m.d.comb += self.i.ready.eq(1)
                    m.next = "IDLE"
        return m
