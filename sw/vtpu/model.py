"""The golden model: the vTPU instruction set in plain Python.

This is the specification. ``docs/isa.md`` describes each instruction and its
examples are executed against this module by the tests; the RTL is checked
against it component by component and, through frames, as a whole.

Two levels:
  * instruction methods (``cget``, ``cput``, ... ) take Python values and
    return a ``Result`` (status plus records or fields);
  * ``execute(data)`` consumes command frame bytes and returns response frame
    bytes, exactly what the hardware must send for the same input.

Capacity is in entries: ``Model(entries=4096)`` stores up to 4096 keys, in
the sentron memory of ``vtpu.memory`` (an entry store and a cuckoo hash index
per sentron), which refuses a new key (TABLE_FULL, nothing changed) only when
the entry store is full or no cuckoo path within the documented bound frees a
slot. ``Model(sets=, ways=)`` models the set-associative table of the
gateware that the cuckoo memory replaces: a new key whose set is full is
refused.
"""

from dataclasses import dataclass, field

from .coord import (Pattern, add_delta, format_coord, format_pattern, l1, max_value,
                    morton)
from .frame import (FrameError, FrameReceiver, command_frame, decode_fields, encode_fields,
                    encode_response, parse_responses)
from .hash import digest_hash, moe_expert, route_node
from .isa import (COORD_WIDTH, DIMS, FINAL, LANE_WIDTH, LANES, MAX_HOPS, PAYLOAD, RECORD, RESULT, ROUTE_ENTRIES, TABLE_SEED, VALUE_WIDTH,
                  AttendMode, Dir, Op, RouteMode, Status)
from .memory import CuckooMemory, SetAssociative
from .zindex import ZIndex

__all__ = ["Result", "Model", "ALL_OPS"]

ALL_OPS = frozenset(Op)
_DIGEST_MASK = (1 << 64) - 1


@dataclass
class Result:
    """What one instruction answers: a status, named fields, and records.

    Single-frame instructions fill ``fields`` (e.g. ``value`` for CGET);
    multi-result instructions fill ``records`` (each a dict of RECORD fields).
    """
    status: Status
    fields: dict = field(default_factory=dict)
    records: list = field(default_factory=list)

    @property
    def ok(self):
        return self.status == Status.OK

    def __str__(self):
        """``OK value=42``; records follow, one per line, indented."""
        words = [self.status.name] + [f"{k}={_show(v)}" for k, v in self.fields.items()]
        lines = [" ".join(words)]
        for record in self.records:
            lines.append("  " + " ".join(f"{k}={_show(v)}" if k != "coord" else _show(v)
                                         for k, v in record.items()))
        return "\n".join(lines)


def _show(value):
    if isinstance(value, Pattern):
        return format_pattern(value)
    if isinstance(value, tuple):
        return format_coord(value)
    return str(value)


DEFAULT_ENTRIES = 256


class Model:
    """The vTPU. ``entries`` (default 256) over ``sentrons``, in the cuckoo memory;
    ``slots``, ``buckets`` and ``max_moves`` are its index's knobs
    (``vtpu.memory.CuckooMemory``). ``sets`` and ``ways`` (either) select the
    set-associative table instead, with 64 sets and 4 ways by default."""

    def __init__(self, entries=None, *, sentrons=1, slots=4, buckets=None, max_moves=2,
                 sets=None, ways=None, width=COORD_WIDTH, value_width=VALUE_WIDTH,
                 seed=TABLE_SEED, ops=ALL_OPS, k_max=None):
        if width % 8 or value_width % 8:
            raise ValueError("widths must be whole bytes")
        if sets is not None or ways is not None:
            if entries is not None:
                raise ValueError("give entries, or sets and ways, not both")
            self.memory = SetAssociative(sets=sets or 64, ways=ways or 4, sentrons=sentrons,
                                         width=width, seed=seed)
        else:
            self.memory = CuckooMemory(DEFAULT_ENTRIES if entries is None else entries,
                                       sentrons=sentrons, slots=slots, buckets=buckets,
                                       max_moves=max_moves, width=width, seed=seed)
        self.sentrons = sentrons
        self.width, self.value_width, self.seed = width, value_width, seed
        self.ops = frozenset(ops)
        self.k_max = k_max               # most results CNEAREST and CATTEND rank (None: 255)
        self.data = {}                   # coord -> value
        self.index = ZIndex(width)       # the same coords in Z-order (range instructions)
        self.route_table = [((0,) * DIMS, 0)] * ROUTE_ENTRIES
        self.receiver = FrameReceiver()

    # --- geometry -----------------------------------------------------------

    @property
    def capacity(self):
        """Keys the memory can hold."""
        return self.memory.capacity

    def locate(self, coord):
        """Where ``coord`` hashes: (sentron, set) in the set-associative table,
        (sentron, first bucket, tag) in the cuckoo memory."""
        return self.memory.locate(coord)

    def _valid_pattern(self, pattern):
        if pattern.mask >> DIMS:
            return False
        return all(l <= h for i, (l, h) in enumerate(zip(pattern.lo, pattern.hi))
                   if not pattern.mask >> i & 1)

    def _box(self, pattern):
        """Effective lo/hi: a wildcard component spans the whole range."""
        top = max_value(self.width)
        lo = tuple(0 if pattern.mask >> i & 1 else v for i, v in enumerate(pattern.lo))
        hi = tuple(top if pattern.mask >> i & 1 else v for i, v in enumerate(pattern.hi))
        return lo, hi

    def _inside(self, pattern):
        """Stored (coord, value) inside the box, ascending Z-order.

        That is ``sorted((c, v) for c, v in self.data.items() if in_box(c, lo, hi))``
        by ``morton(c, self.width)``; the Z-order index finds the same list
        without visiting the entries outside the box (``vtpu.zindex``).
        """
        lo, hi = self._box(pattern)
        return [(c, self.data[c]) for c in self.index.inside(lo, hi)]

    # --- point instructions ---------------------------------------------------

    def cget(self, coord):
        if coord in self.data:
            return Result(Status.OK, {"value": self.data[coord]})
        return Result(Status.NOT_FOUND)

    def cput(self, coord, value):
        if not 0 <= value <= max_value(self.value_width):
            return Result(Status.BAD_ARG)
        if coord not in self.data:
            if not self.memory.insert(coord):
                return Result(Status.TABLE_FULL)
            self.index.insert(coord)
        self.data[coord] = value
        return Result(Status.OK)

    def cdel(self, coord):
        if coord not in self.data:
            return Result(Status.NOT_FOUND)
        del self.data[coord]
        self.index.remove(coord)
        self.memory.remove(coord)
        return Result(Status.OK)

    # --- pure coordinate instructions ------------------------------------------

    def cdelta(self, coord, delta):
        out = add_delta(coord, delta, self.width)
        if out is None:
            return Result(Status.OVERFLOW)
        return Result(Status.OK, {"coord": out})

    def chier(self, pattern, direction):
        if direction not in (Dir.UP, Dir.DOWN) or not self._valid_pattern(pattern):
            return Result(Status.BAD_ARG)
        if direction == Dir.DOWN:
            # DOWN is CRANGE: a build without CRANGE answers it as CRANGE would.
            return self.crange(pattern) if Op.CRANGE in self.ops else Result(Status.BAD_OPCODE)
        deepest = [i for i in range(DIMS) if not pattern.mask >> i & 1]
        if not deepest:
            return Result(Status.BAD_ARG)
        lo, hi = self._box(pattern)
        up = Pattern.make(lo, hi, pattern.mask | 1 << deepest[-1], self.width)
        return Result(Status.OK, {"pattern": up})

    def croute(self, coord, n, mode=RouteMode.HASH):
        if n == 0:
            return Result(Status.BAD_ARG)
        if mode == RouteMode.HASH:
            return Result(Status.OK, {"node": route_node(coord, n, self.width, self.seed)})
        if mode != RouteMode.RANGE or n > ROUTE_ENTRIES:
            return Result(Status.BAD_ARG)
        key = morton(coord, self.width)
        best = None
        for bound, node in self.route_table[:n]:
            b = morton(bound, self.width)
            if b <= key and (best is None or b > best[0]):
                best = (b, node)
        if best is None:
            return Result(Status.NOT_FOUND)
        return Result(Status.OK, {"node": best[1]})

    def crtset(self, index, bound, node):
        if index >= ROUTE_ENTRIES:
            return Result(Status.BAD_ARG)
        self.route_table[index] = (tuple(bound), node)
        return Result(Status.OK)

    def cmoe(self, coord, n):
        if n == 0:
            return Result(Status.BAD_ARG)
        return Result(Status.OK, {"expert": moe_expert(coord, n, self.width, self.seed)})

    # --- range instructions ------------------------------------------------------

    def crange(self, pattern):
        if not self._valid_pattern(pattern):
            return Result(Status.BAD_ARG)
        return Result(Status.OK, records=[{"coord": c, "value": v} for c, v in self._inside(pattern)])

    def cdigest(self, pattern):
        if not self._valid_pattern(pattern):
            return Result(Status.BAD_ARG)
        hits = self._inside(pattern)
        digest = 0
        for c, v in hits:
            digest = (digest + digest_hash(c, v, self.width, self.value_width)) & _DIGEST_MASK
        return Result(Status.OK, {"count": len(hits), "digest": digest})

    def _k_fits(self, k):
        """k of CNEAREST and CATTEND: 1..k_max (a build's top-k unit holds k_max)."""
        return 1 <= k <= (255 if self.k_max is None else self.k_max)

    def cnearest(self, coord, k):
        if not self._k_fits(k):
            return Result(Status.BAD_ARG)
        # sorted(self.data, key=lambda c: (l1(coord, c), morton(c, self.width)))[:k]: by L1,
        # ties in Z-order; the index finds it by branch and bound (``vtpu.zindex``).
        ranked = self.index.nearest(coord, k)
        return Result(Status.OK, records=[{"coord": c, "value": self.data[c], "distance": l1(coord, c)}
                                          for c in ranked])

    @staticmethod
    def lanes(value):
        """A value as LANES signed LANE_WIDTH-bit lanes, lane 0 in the low bits."""
        top = 1 << LANE_WIDTH
        out = []
        for i in range(LANES):
            lane = (value >> (i * LANE_WIDTH)) & (top - 1)
            out.append(lane - top if lane >> (LANE_WIDTH - 1) else lane)
        return out

    def cattend(self, coord, pattern, k, mode=AttendMode.DOT):
        if not self._k_fits(k) or mode not in (AttendMode.DOT, AttendMode.DISTANCE) or not self._valid_pattern(pattern):
            return Result(Status.BAD_ARG)
        if mode == AttendMode.DOT:
            if coord not in self.data:
                return Result(Status.NOT_FOUND)
            query = self.lanes(self.data[coord])
            def score(c, v):
                return sum(q * x for q, x in zip(query, self.lanes(v)))
        else:
            def score(c, v):
                return -l1(coord, c)
        scored = [(score(c, v), c) for c, v in self._inside(pattern)]
        # _inside is already in Z-order and sort is stable: ties stay in Z-order.
        scored.sort(key=lambda sc: -sc[0])
        return Result(Status.OK, records=[{"coord": c, "score": s} for s, c in scored[:k]])

    def ckg(self, coord, entity, deltas):
        if entity >= DIMS or not 1 <= len(deltas) <= MAX_HOPS:
            return Result(Status.BAD_ARG)
        node = tuple(coord)
        records = []
        for delta in deltas:
            edge = add_delta(node, delta, self.width)
            if edge is None:
                return Result(Status.OVERFLOW, records=records)
            if edge not in self.data:
                return Result(Status.NOT_FOUND, records=records)
            value = self.data[edge]
            records.append({"coord": edge, "value": value})
            if value > max_value(self.width):
                return Result(Status.OVERFLOW, records=records)
            node = node[:entity] + (value,) + node[entity + 1:]
        return Result(Status.OK, records=records)

    # --- dispatch ------------------------------------------------------------------

    def run(self, op, **fields):
        """Execute one instruction given its ISA field values."""
        op = Op(op)
        if op not in self.ops:
            return Result(Status.BAD_OPCODE)
        if op == Op.CKG:
            return self.ckg(fields["coord"], fields["entity"], fields["deltas"])
        method = getattr(self, op.name.lower())
        return method(*(fields[f.name] for f in PAYLOAD[op]))

    # --- frames ------------------------------------------------------------------------

    def _encode(self, fields, values):
        return encode_fields(fields, values, width=self.width, value_width=self.value_width)

    def answer(self, op, tag, result, direction=None):
        """Response frames (bytes) for one executed instruction."""
        out = bytearray()
        for record in result.records:
            out += encode_response(Status.OK, tag, self._encode(RECORD[op], record), more=True)
        if result.status in (Status.BAD_FRAME, Status.BAD_OPCODE):
            payload = b""
        elif op == Op.CHIER:
            if result.status != Status.OK:
                payload = b""
            elif direction == Dir.DOWN:
                payload = self._encode(FINAL, {"count": len(result.records)})
            else:
                payload = self._encode(RESULT[op], result.fields)
        elif op in RECORD:
            payload = self._encode(FINAL, {"count": len(result.records)})
        elif result.status == Status.OK:
            payload = self._encode(RESULT[op], result.fields)
        else:
            payload = b""
        out += encode_response(result.status, tag, payload)
        return bytes(out)

    def command(self, cmd):
        """Response frames for one received ``Command`` (or BAD_FRAME event)."""
        if isinstance(cmd, tuple):          # ("BAD_FRAME", tag) from the receiver
            return encode_response(Status.BAD_FRAME, cmd[1])
        try:
            op = Op(cmd.op)
        except ValueError:
            return encode_response(Status.BAD_OPCODE, cmd.tag)
        if op not in self.ops:
            return encode_response(Status.BAD_OPCODE, cmd.tag)
        try:
            fields = decode_fields(PAYLOAD[op], cmd.payload, width=self.width,
                                   value_width=self.value_width)
        except FrameError:
            return self.answer(op, cmd.tag, Result(Status.BAD_ARG))
        result = self.run(op, **fields)
        return self.answer(op, cmd.tag, result, fields.get("dir"))

    def request(self, op, tag=0, **fields):
        """One instruction through the frame path: fields in, ``Response`` list out."""
        frame = command_frame(op, tag, width=self.width, value_width=self.value_width, **fields)
        return parse_responses(self.execute(frame))

    def execute(self, data):
        """Command frame bytes in, response frame bytes out (any amount, resumable)."""
        out = bytearray()
        for event in self.receiver.feed(data):
            out += self.command(event)
        return bytes(out)
