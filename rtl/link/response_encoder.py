"""Response encoder: answers in, response frame bytes out, a byte a clock.

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
The response is read where it is, in the producer's output register: the
encoder stores no payload. It is taken (``i.ready``) as the last byte read
from it leaves (the last payload byte, or the length of an empty payload;
a register says that byte is on offer), not with the CRC byte
(``take_early``, the iCE40 boards': the CRC byte's flag through the
handshake into the sentron's next step was the iCEBreaker's slowest path).

A payload byte is one multiplexer over the sources, addressed by the ROM's
registered output, into a register a byte ahead of the wire; the byte out is
a 2:1 choice between that register and one holding the header's (or the
CRC's) byte. (On the HX8K, from the ROM through the multiplexer and the
choice of the state's byte into the CRC and the output was the slowest path.)
A version that picked the byte in two registered steps (16 sources, then the
group) stopped the four-sentron ECP5 build routing (nextpnr's router1
stalled at ~45k-60k unrouted arcs, seeds 1 and 2). On the ECP5 the encoder
runs on the host link's 39 MHz clock (``VTPU(host_domain=...)``). The CRC
byte waits a clock for the last payload byte's CRC update.
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
    def __init__(self, width=COORD_WIDTH, value_width=VALUE_WIDTH, *, take_early=True):
        """``take_early``: take the answer with the last byte read from it
        (above), else with the CRC byte. Early pays where the producer is on
        the encoder's clock (the iCE40 boards); the ULX3S's answers reach it
        through a clock-domain FIFO and its collector, which cut the chain."""
        self.width, self.value_width = width, value_width
        self.take_early = take_early
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
        # block RAM, not a LUT case tree). The address runs up to two past a
        # format's end (it reads a byte ahead): two spare entries.
        rom_init, starts = [], {}
        for name in names:
            starts[name] = len(rom_init)
            rom_init += orders[name]
        rom_init += [0, 0]
        m.submodules.order = order = Memory(
            shape=range(max(2, len(byte_sources))), depth=len(rom_init), init=rom_init)
        order_r = order.read_port()

        # The ROM address and the one after it are kept in registers, so the
        # address for the next clock is a 2:1 choice on "byte sent", not an adder.
        rom_range = range(len(rom_init))
        address, address_next = Signal(rom_range), Signal(rom_range)
        length = Signal(8)
        early = self.take_early
        if early:
            empty = Signal()      # length == 0
            final = Signal()      # the payload byte on offer is the last
        else:
            last = Signal(8)      # length - 1: the PAYLOAD state's last index
        index = Signal(8)
        crc = Signal(8)
        chosen_length = Signal(8)
        chosen_start = Signal(rom_range)
        with m.Switch(chosen):
            for n, name in enumerate(names):
                with m.Case(n):
                    m.d.comb += [chosen_length.eq(len(orders[name])),
                                 chosen_start.eq(starts[name])]

        next_byte = Signal()      # a payload byte is loaded this clock: read the next
        m.d.comb += order_r.addr.eq(Mux(next_byte, address_next, address))
        payload_byte = Signal(8)  # the byte the ROM's output names
        with m.Switch(order_r.data):
            for number, expr in enumerate(byte_sources):
                with m.Case(number):
                    m.d.comb += payload_byte.eq(expr)

        # The byte out comes from registers: a payload byte (``payload``, loaded
        # with the next as one is sent) or the others' (``head``, each set up a
        # clock ahead). From the ROM through the source multiplexer, the choice
        # of the state's byte and the CRC update was the HX8K's slowest path;
        # now the multiplexer ends at a register, and a 2:1 choice between
        # registers leaves. The CRC takes each byte a clock after it is sent;
        # the CRC byte waits that clock.
        payload = Signal(8)
        head = Signal(8)
        in_payload = Signal()
        crc_byte = Signal(8)
        crc_due = Signal()
        m.d.sync += crc_due.eq(0)
        with m.If(crc_due):
            m.d.sync += crc.eq(crc8_next(crc, crc_byte))
        with m.If(next_byte):
            m.d.sync += payload.eq(payload_byte)

        out = self.o
        sent = out.valid & out.ready
        m.d.comb += out.payload.eq(Mux(in_payload, payload, head))
        with m.If(sent):
            m.d.sync += [crc_byte.eq(out.payload), crc_due.eq(1)]
        with m.FSM():
            with m.State("IDLE"):
                m.d.sync += in_payload.eq(0)
                with m.If(self.i.valid):
                    if early:
                        m.d.sync += [address.eq(chosen_start), address_next.eq(chosen_start + 1),
                                     length.eq(chosen_length),
                                     index.eq(0), crc.eq(0), head.eq(RSP_SYNC),
                                     empty.eq(chosen_length == 0), final.eq(chosen_length == 1)]
                    else:
                        m.d.sync += [address.eq(chosen_start), address_next.eq(chosen_start + 1),
                                     length.eq(chosen_length), last.eq(chosen_length - 1),
                                     index.eq(0), crc.eq(0), head.eq(RSP_SYNC)]
                    m.next = "SYNC"
            with m.State("SYNC"):
                m.d.comb += out.valid.eq(1)
                with m.If(sent):
                    m.d.sync += [head.eq(Value.cast(i.status) | (i.more << 7)),
                                 crc_due.eq(0)]       # the sync byte is not in the CRC
                    m.next = "STAT"
            with m.State("STAT"):
                m.d.comb += out.valid.eq(1)
                with m.If(sent):
                    m.d.sync += head.eq(i.tag)
                    m.next = "TAG"
            with m.State("TAG"):
                m.d.comb += out.valid.eq(1)
                with m.If(sent):
                    m.d.sync += head.eq(length)
                    m.next = "LEN"
            with m.State("LEN"):
                # the ROM has read the first payload byte's source since SYNC
                m.d.comb += out.valid.eq(1)
                with m.If(sent):
                    m.d.comb += next_byte.eq(1)
                    m.d.sync += [address.eq(address_next), address_next.eq(address_next + 1)]
                    none = empty if early else length == 0
                    m.d.sync += in_payload.eq(~none if early else length != 0)
                    m.next = "PAYLOAD"
                    with m.If(none):
                        if early:
                            m.d.comb += self.i.ready.eq(1)
                        m.next = "CRC"
            with m.State("PAYLOAD"):
                m.d.comb += out.valid.eq(1)
                with m.If(sent):
                    m.d.comb += next_byte.eq(1)
                    if early:
                        m.d.sync += [index.eq(index + 1), final.eq(index + 2 == length),
                                     address.eq(address_next), address_next.eq(address_next + 1)]
                    else:
                        m.d.sync += [index.eq(index + 1),
                                     address.eq(address_next), address_next.eq(address_next + 1)]
                    with m.If(final if early else index == last):
                        if early:
                            m.d.comb += self.i.ready.eq(1)
                        m.d.sync += in_payload.eq(0)
                        m.next = "CRC"
            with m.State("CRC"):
                # entered as the last byte's CRC update is due: the CRC byte
                # is that update's result
                m.d.comb += out.valid.eq(~crc_due)
                with m.If(crc_due):
                    m.d.sync += head.eq(crc8_next(crc, crc_byte))
                with m.If(sent):
                    if not early:
                        # taken only now: it stays in the producer's output
                        # register while its bytes go out
                        m.d.comb += self.i.ready.eq(1)
                    m.d.sync += crc_due.eq(0)
                    m.next = "IDLE"
        return m
