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
no payload buffer is needed. A core that carries no instruction with a
pattern beside a coordinate, operand or argument (only CATTEND has one) keeps
the pattern in those members' flops (``folds_pattern``): on the iCE40s the
command register is most of the flops left, and this is 304 of them.

Everything that depends on the opcode is worked out while the TAG byte
arrives (the opcode is in its register by then) and kept in flops: which
member layout the opcode has, which lengths fit it, whether it is known. A
command byte's enable is then an AND-OR of a few flops and a one-hot register
of the payload position, with no opcode decode or counter compare in front:
on the ECP5 that enable, fanned out over the 630-bit command register, was
the slowest path. LEN is tested as it arrives and judged a clock later, in a
state that takes no byte (CHECK), so no length compare sits in front of the
decision either.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from vtpu.isa import (CMD_SYNC, COORD_WIDTH, DIMS, MAX_HOPS, MAX_PAYLOAD, PAYLOAD, VALUE_WIDTH, Op,
                      Status, field_bytes, length_fits, payload_bytes)

from .crc import crc8_next
from ..layouts import COMMAND_FIELD, command_layout, pattern_turn_signature, turn_pattern

__all__ = ["FrameDecoder", "folds_pattern"]


def _byte_map(op, width, value_width, fold_pattern=False):
    """[(payload byte index, command member, byte within member)] for ``op``;
    with ``fold_pattern`` a pattern's mask, lo and hi land in ``arg``,
    ``coord`` and ``operand`` (``FrameDecoder``)."""
    out, offset, seen = [], 0, set()
    for field in PAYLOAD[op]:
        # CKG's deltas: room for MAX_HOPS; a shorter frame ends before the rest
        size = field_bytes(field.kind, width=width, value_width=value_width,
                           hops=MAX_HOPS if field.kind == "deltas" else 0)
        if field.kind == "pattern" and fold_pattern:
            coord = field_bytes("coord", width=width)
            parts = [("arg", size - 2 * coord), ("coord", coord), ("operand", coord)]
        else:
            parts = [(COMMAND_FIELD[field.name], size)]
        for member, part in parts:
            assert member not in seen, "one member per field of an opcode"
            out += [(offset + i, member, i) for i in range(part)]
            seen.add(member)
            offset += part
    return out


def folds_pattern(ops):
    """Whether a pattern may share the flops of ``arg``, ``coord`` and
    ``operand``: no instruction of ``ops`` carries one beside any of them."""
    shared = {"arg", "coord", "operand"}
    return not any(any(f.kind == "pattern" for f in PAYLOAD[op])
                   and shared & {COMMAND_FIELD[f.name] for f in PAYLOAD[op]} for op in ops)


class FrameDecoder(wiring.Component):
    def __init__(self, width=COORD_WIDTH, value_width=VALUE_WIDTH, ops=frozenset(Op)):
        """``ops``: the instructions whose payloads are stored; any other
        frame's (the core answers BAD_OPCODE to it) is checked and dropped.
        Where none of them carries a pattern beside a coordinate, operand or
        argument (CATTEND does), the pattern is stored in those members'
        flops (``folds_pattern``), and ``o.payload.pattern`` reads them: some
        300 flops fewer, a quarter of the command register (the iCE40s)."""
        self.width, self.value_width = width, value_width
        self.ops = frozenset(ops)
        self.fold_pattern = folds_pattern(self.ops)
        super().__init__({
            "i": In(stream.Signature(8)),
            "o": Out(stream.Signature(command_layout(width, value_width))),
            # the held pattern's bounds and mask turn (``SerialScan``)
            "turn": In(pattern_turn_signature(width)),
        })

    def elaborate(self, platform):
        m = Module()
        # no reset: cleared as each frame's opcode arrives (state OP)
        cmd = Signal(command_layout(self.width, self.value_width), reset_less=True)
        left = Signal(8)          # payload bytes after the one arriving
        crc = Signal(8)
        known = Signal()          # the opcode byte names an instruction

        m.d.comb += self.o.payload.eq(cmd)
        if self.fold_pattern:
            # the pattern's own flops are never written, read or kept
            m.d.comb += [self.o.payload.pattern.mask.eq(cmd.arg),
                         self.o.payload.pattern.lo.eq(cmd.coord),
                         self.o.payload.pattern.hi.eq(cmd.operand)]

        # One pending instruction at a time: while it waits, no byte is taken.
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        checking = Signal()       # state CHECK: no byte is taken
        m.d.comb += self.i.ready.eq(~self.o.valid & ~checking)

        def emit(error):
            m.d.sync += [cmd.error.eq(error), self.o.valid.eq(1)]

        byte = self.i.payload
        taken = self.i.valid & self.i.ready
        tag = Signal()            # the TAG byte arrives: the opcode is in ``cmd.op``
        with m.If(tag):
            m.d.sync += known.eq(Cat(*(cmd.op == op for op in Op)).any())
        fits = self._length_fits(m, cmd, byte, tag)
        # LEN's tests, registered as it arrives and judged in CHECK
        rejected, empty = Signal(), Signal()

        with m.FSM() as fsm:
            with m.State("HUNT"):
                with m.If(taken & (byte == CMD_SYNC)):
                    m.next = "OP"
            with m.State("OP"):
                with m.If(taken):
                    # The instruction is cleared here rather than on the sync
                    # byte, so no byte comparison gates the enable of every
                    # bit of it (the board's slowest path otherwise).
                    m.d.sync += [cmd.eq(0), cmd.op.eq(byte), crc.eq(crc8_next(0, byte))]
                    m.next = "TAG"
            with m.State("TAG"):
                m.d.comb += tag.eq(taken)
                with m.If(taken):
                    m.d.sync += [cmd.tag.eq(byte), crc.eq(crc8_next(crc, byte))]
                    m.next = "LEN"
            with m.State("LEN"):
                with m.If(taken):
                    m.d.sync += [left.eq(byte - 1), crc.eq(crc8_next(crc, byte)),
                                 rejected.eq((byte > MAX_PAYLOAD) | (known & ~fits)),
                                 empty.eq(byte == 0),
                                 cmd.deltas_sent.eq(self._deltas_sent(byte))]
                    m.next = "CHECK"
            with m.State("CHECK"):
                m.d.comb += checking.eq(1)
                with m.If(rejected):
                    emit(Status.BAD_FRAME)
                    m.next = "HUNT"
                with m.Elif(empty):
                    m.next = "CRC"
                with m.Else():
                    m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                with m.If(taken):
                    m.d.sync += [left.eq(left - 1), crc.eq(crc8_next(crc, byte))]
                    with m.If(left == 0):
                        m.next = "CRC"
            with m.State("CRC"):
                with m.If(taken):
                    with m.If(byte != crc):
                        emit(Status.BAD_FRAME)
                    with m.Elif(~known):
                        emit(Status.BAD_OPCODE)
                    with m.Else():
                        emit(Status.OK)
                    m.next = "HUNT"
        self._store(m, cmd, byte, tag=tag, store=taken & fsm.ongoing("PAYLOAD"))
        # (only while an instruction is held: no byte is stored meanwhile)
        if self.fold_pattern:
            lo, hi, mask = cmd.coord, cmd.operand[:DIMS * self.width], cmd.arg[:DIMS]
        else:
            lo, hi, mask = cmd.pattern.lo, cmd.pattern.hi, cmd.pattern.mask[:DIMS]
        turn_pattern(m, self.turn, lo, hi, mask, self.width)
        return m

    def _deltas_sent(self, length):
        """How many CKG deltas a payload of ``length`` bytes carries (0 where
        the length is not CKG's with some whole number of them)."""
        fixed = payload_bytes(PAYLOAD[Op.CKG], width=self.width, value_width=self.value_width)
        step = field_bytes("delta", width=self.width)
        sent = Const(0, range(MAX_HOPS + 1))
        for hops in range(1, MAX_HOPS + 1):
            sent = Mux(length == fixed + hops * step, hops, sent)
        return sent

    def _length_fits(self, m, cmd, byte, tag):
        """Whether ``byte``, as LEN, fits the opcode: per set of lengths some
        opcodes share, a flag loaded while the tag arrives."""
        groups = {}
        for op in Op:
            lengths = frozenset(n for n in range(MAX_PAYLOAD + 1) if length_fits(op, n))
            groups.setdefault(lengths, []).append(op)
        fits = []
        for n, (lengths, ops) in enumerate(groups.items()):
            flag = Signal(name=f"lengths{n}")
            with m.If(tag):
                m.d.sync += flag.eq(Cat(*(cmd.op == op for op in ops)).any())
            fits.append(flag & Cat(*(byte == length for length in sorted(lengths))).any())
        return Cat(*fits).any()

    def _store(self, m, cmd, byte, *, tag, store):
        """Write each payload byte into the member the opcode's layout names.

        ``at``: the position of the next payload byte, one-hot, shifted as each
        byte is stored. Per (member, first byte, size) that some opcode uses, a
        flag loaded while the tag arrives. A member byte's enable is the OR,
        over its layouts, of flag and position bit.
        """
        layouts = {}              # (member, first, size) -> opcodes
        for op in sorted(self.ops):
            spans = {}
            for offset, member, _ in _byte_map(op, self.width, self.value_width,
                                               self.fold_pattern):
                first, size = spans.get(member, (offset, 0))
                spans[member] = (first, size + 1)
            for member, (first, size) in spans.items():
                layouts.setdefault((member, first, size), []).append(op)
        span = max(first + size for _, first, size in layouts)
        at = Signal(span)
        with m.If(tag):
            m.d.sync += at.eq(1)
        with m.Elif(store):
            m.d.sync += at.eq(at << 1)
        flags = {}
        for key, ops in layouts.items():
            member, first, size = key
            flags[key] = flag = Signal(name=f"{member}_at{first}")
            with m.If(tag):
                m.d.sync += flag.eq(Cat(*(cmd.op == op for op in ops)).any())
        for member in sorted({member for member, _, _ in layouts}):
            target = Value.cast(getattr(cmd, member))
            for i in range(len(target) // 8):
                here = [flags[key] & at[key[1] + i] for key in layouts
                        if key[0] == member and i < key[2]]
                if here:
                    with m.If(store & Cat(*here).any()):
                        m.d.sync += target[8 * i: 8 * i + 8].eq(byte)
