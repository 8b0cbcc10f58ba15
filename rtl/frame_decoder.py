"""Frame decoder: command bytes in, decoded instructions out, one byte per clock.

Bit-exact with ``vtpu.frame.FrameReceiver``: hunt for the sync byte; reject a
LEN above ``MAX_PAYLOAD`` or one that does not fit a known opcode as soon as it
arrives; reject a CRC mismatch after the CRC byte; then hunt again from the
next byte. A rejected frame leaves as an instruction whose ``error`` is
BAD_FRAME (carrying the received tag), a good frame with an unknown opcode
as one whose ``error`` is BAD_OPCODE, so the sequencer answers every frame in
order and the decoder itself never drops or reorders anything.

Payload bytes are written straight into the shared ``command_layout`` members
(``layouts.COMMAND_FIELD``) at the byte offsets the ISA's field lists give, so
no payload buffer is needed.
"""

from amaranth.hdl import Module, Signal, Value, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from vtpu.isa import (CMD_SYNC, COORD_WIDTH, MAX_PAYLOAD, PAYLOAD, VALUE_WIDTH, Op, Status,
                      field_bytes, length_fits)

from .crc import crc8_next
from .layouts import COMMAND_FIELD, command_layout

__all__ = ["FrameDecoder"]


def _byte_map(op, width, value_width):
    """[(payload byte index, command member, byte within member)] for ``op``."""
    out, offset, seen = [], 0, set()
    for field in PAYLOAD[op]:
        size = field_bytes(field.kind, width=width, value_width=value_width,
                           hops=1 if field.kind == "deltas" else 0)
        member = COMMAND_FIELD[field.name]
        if member not in seen:           # CKG: only the first delta has a home
            out += [(offset + i, member, i) for i in range(size)]
            seen.add(member)
        offset += size
    return out


class FrameDecoder(wiring.Component):
    def __init__(self, width=COORD_WIDTH, value_width=VALUE_WIDTH):
        self.width, self.value_width = width, value_width
        super().__init__({
            "i": In(stream.Signature(8)),
            "o": Out(stream.Signature(command_layout(width, value_width))),
        })

    def elaborate(self, platform):
        m = Module()
        # no reset: cleared as each frame's opcode arrives (state OP)
        cmd = Signal(command_layout(self.width, self.value_width), reset_less=True)
        length = Signal(8)
        index = Signal(8)
        crc = Signal(8)
        known = Signal()          # the opcode byte names an instruction
        fits = Signal()           # LEN fits that instruction

        m.d.comb += self.o.payload.eq(cmd)

        # One pending instruction at a time: while it waits, no byte is taken.
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        m.d.comb += self.i.ready.eq(~self.o.valid)

        def emit(error):
            m.d.sync += [cmd.error.eq(error), self.o.valid.eq(1)]

        byte = self.i.payload
        m.d.comb += known.eq(0)
        with m.Switch(cmd.op):
            for op in Op:
                with m.Case(op):
                    m.d.comb += known.eq(1)
        m.d.comb += fits.eq(0)
        with m.Switch(cmd.op):
            for op in Op:
                with m.Case(op):
                    with m.Switch(byte):
                        for n in range(MAX_PAYLOAD + 1):
                            if length_fits(op, n):
                                with m.Case(n):
                                    m.d.comb += fits.eq(1)

        with m.FSM() as fsm:
            with m.State("HUNT"):
                with m.If(self.i.valid & self.i.ready & (byte == CMD_SYNC)):
                    m.next = "OP"
            with m.State("OP"):
                with m.If(self.i.valid & self.i.ready):
                    # The instruction is cleared here rather than on the sync
                    # byte, so no byte comparison gates the enable of every
                    # bit of it (the board's slowest path otherwise).
                    m.d.sync += [cmd.eq(0), cmd.op.eq(byte), crc.eq(crc8_next(0, byte))]
                    m.next = "TAG"
            with m.State("TAG"):
                with m.If(self.i.valid & self.i.ready):
                    m.d.sync += [cmd.tag.eq(byte), crc.eq(crc8_next(crc, byte))]
                    m.next = "LEN"
            with m.State("LEN"):
                with m.If(self.i.valid & self.i.ready):
                    m.d.sync += [length.eq(byte), index.eq(0), crc.eq(crc8_next(crc, byte))]
                    with m.If((byte > MAX_PAYLOAD) | (known & ~fits)):
                        emit(Status.BAD_FRAME)
                        m.next = "HUNT"
                    with m.Elif(byte == 0):
                        m.next = "CRC"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                with m.If(self.i.valid & self.i.ready):
                    m.d.sync += [index.eq(index + 1), crc.eq(crc8_next(crc, byte))]
                    with m.If(index + 1 == length):
                        m.next = "CRC"
            with m.State("CRC"):
                with m.If(self.i.valid & self.i.ready):
                    with m.If(byte != crc):
                        emit(Status.BAD_FRAME)
                    with m.Elif(~known):
                        emit(Status.BAD_OPCODE)
                    with m.Else():
                        emit(Status.OK)
                    m.next = "HUNT"
        taken = self.i.valid & self.i.ready
        self._store(m, cmd, byte, tag=taken & fsm.ongoing("TAG"),
                    store=taken & fsm.ongoing("PAYLOAD"))
        return m

    def _store(self, m, cmd, byte, *, tag, store):
        """Write each payload byte into the member the opcode's layout names.

        Per member: where it starts in this opcode's payload and how many bytes
        it takes (two small constant tables, read once per frame); then one
        comparator per member byte. Compact where a case per (opcode, byte)
        would not be.
        """
        members = {}
        for op in Op:
            for offset, member, i in _byte_map(op, self.width, self.value_width):
                start, size = members.setdefault(member, {}).get(op, (offset, 0))
                members[member][op] = (start, size + 1)
        for member, spans in members.items():
            target = Value.cast(getattr(cmd, member))
            # ``relative``: which byte of the member the next payload byte is,
            # negative before the member starts; set from the opcode while the
            # tag arrives and counted up with the payload, so no opcode decode
            # or subtraction sits between a byte and its register's enable.
            relative = Signal(signed(9), name=f"{member}_byte")
            size = Signal(8, name=f"{member}_size")
            with m.If(tag):
                m.d.sync += [relative.eq(0), size.eq(0)]
                with m.Switch(cmd.op):
                    for op, (first, count) in spans.items():
                        with m.Case(op):
                            m.d.sync += [relative.eq(-first), size.eq(count)]
            with m.Elif(store):
                m.d.sync += relative.eq(relative + 1)
            for i in range(len(target) // 8):
                with m.If(store & (relative == i) & (i < size)):
                    m.d.sync += target[8 * i: 8 * i + 8].eq(byte)
