"""The Python client: ``from vtpu import VTPU``.

    >>> v = VTPU()                                    # the golden model
    >>> v.cput("2.1.3/4.7.2/9.2.2", "hello")          # text goes to the host heap
    >>> v.cget("2.1.3/4.7.2/9.2.2")
    'hello'

Every method sends ISA frames through a driver backend (``vtpu.driver``), so
it behaves the same on the model, the RTL in a simulator and a board.

Contents. The device stores one 64-bit word per coordinate; the client
remembers, per coordinate it wrote, what kind of content the word holds, and
gives it back as it was given:

* an ``int`` in ``0 .. 2**63 - 1`` is stored as it is;
* an int8x8 vector -- 8 ``bytes`` (or a ``bytearray``) or a numpy ``int8``
  array of 8 -- is stored as a plain word with every lane free (all 64 bits),
  lane ``i`` in bits ``8i .. 8i+7`` (lane 0 in the low byte: ``Model.lanes``,
  what CATTEND scores); it reads back as ``bytes``, or as a numpy array if a
  numpy array was stored;
* a ``str`` (a text scroll) lives in a heap on the host and the device stores
  its handle, which is derived from the text (content-addressed):
  ``text_handle(text)`` is bit 63 set over the low 63 bits of the text's
  BLAKE2b-64 digest (UTF-8). Equal texts get equal handles on any client, so
  CDIGESTs of equal content agree between nodes. Two different texts with one
  handle (a 63-bit collision) cannot both be kept: storing the second raises
  ``HandleCollision`` and changes nothing (probing to another handle would
  make the handle depend on what else is stored, and digests would differ).
  A word read at a coordinate this client did not write is text if it is a
  handle in the heap, else the int.

Coordinates are text (``"1.2.3/4.5.6/7.8.9"``, labels allowed and interned
through ``symbols`` into the top half of each component's range, where plain
numbers are refused: see ``vtpu.coord``) or tuples of nine integers; anything
else raises ``vtpu.coord.CoordError``.

Deltas (``cdelta``, ``ckg``) are nine signed components, as a tuple or as
text ``"0.0.1/0.0.0/0.0.-2"`` (a component may carry a sign: ``+1``, ``-2``).
A component written as a label (``father``, ``+father``, ``-father``) stands
for that label's number in the symbol table of its dimension (interned as in a
coordinate): the delta adds (or, with ``-``, subtracts) the label's number, so
``"0.0.0/+father.0.0/0.0.0"`` takes relation component 0 to ``father``.
Label numbers (``2**(W-1)`` and up) do not fit the wire's signed W-bit delta
field; the client carries such a component by moving the coordinate it sends
in that component so that every answer is the one the full delta gives
(OVERFLOW included). That is possible wherever the client knows the base: the
coordinate of ``cdelta``, and every component of ``ckg`` but ``entity``, which
the device changes hop by hop (a delta there beyond the field is a
``BadArgument``).

Any status other than OK raises a ``VTPUError`` subclass carrying the status
(and, for the multi-result instructions, the records answered before it, in
the shape the instruction returns). Arguments the device cannot take (a field
out of its range, more than ``vtpu.isa.MAX_HOPS`` hops, an unknown direction or
mode) raise ``BadArgument`` before anything is sent.
"""

import hashlib
import operator
from collections import Counter
from contextlib import contextmanager

from .coord import (COMPONENT_NAMES, DIMS, CoordError, Pattern, SymbolTable, format_coord,
                    format_pattern, max_value, parse_pattern, to_coord)
from .driver import open_backend
from .frame import command_frame, parse_responses
from .isa import (COORD_WIDTH, LANE_WIDTH, LANES, MAX_HOPS, PAYLOAD, VALUE_WIDTH, AttendMode, Dir,
                  Op, RouteMode, Status, field_bytes)
from .model import Result

__all__ = ["VTPU", "VTPUError", "NotFound", "TableFull", "Overflow", "BadArgument",
           "Unsupported", "BadFrame", "HandleCollision", "HANDLE_BIT", "VECTOR_BYTES",
           "text_handle"]

HANDLE_BIT = 1 << (VALUE_WIDTH - 1)
VECTOR_BYTES = LANES * LANE_WIDTH // 8       # an int8x8 vector: one value word


def text_handle(text):
    """The word the device stores for a text scroll: ``HANDLE_BIT`` over the low
    63 bits of the BLAKE2b-64 digest of its UTF-8 (content-addressed)."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=VALUE_WIDTH // 8).digest()
    return HANDLE_BIT | int.from_bytes(digest, "little") & (HANDLE_BIT - 1)


class HandleCollision(ValueError):
    """Two different texts have one handle: the second cannot be stored."""


class VTPUError(Exception):
    """An instruction answered a status other than OK."""

    def __init__(self, status, message, records=()):
        super().__init__(f"{status.name}: {message}")
        self.status = status
        self.records = list(records)


class NotFound(VTPUError, KeyError):
    def __str__(self):          # KeyError would quote the message
        return self.args[0]


class TableFull(VTPUError):
    pass


class Overflow(VTPUError):
    pass


class BadArgument(VTPUError, ValueError):
    pass


class Unsupported(VTPUError):
    """BAD_OPCODE: this backend's core does not carry the instruction."""


class BadFrame(VTPUError):
    pass


def _bad(message):
    return BadArgument(Status.BAD_ARG, message)


def _choice(enum, value, what):
    """``value`` (a name, any case, or a member/number) as a member of ``enum``."""
    try:
        return enum[value.upper()] if isinstance(value, str) else enum(value)
    except (KeyError, ValueError):
        names = ", ".join(repr(m.name) for m in enum)
        raise _bad(f"{what} must be one of {names}, not {value!r}") from None


_ERRORS = {Status.NOT_FOUND: NotFound, Status.TABLE_FULL: TableFull, Status.OVERFLOW: Overflow,
           Status.BAD_ARG: BadArgument, Status.BAD_OPCODE: Unsupported,
           Status.BAD_FRAME: BadFrame}


class Pending:
    """The answer to one instruction of a batch, available when the batch ends."""

    def __init__(self, op, fields, convert):
        self.op, self.fields, self.convert = op, fields, convert
        self._result = self._error = None
        self.done = False

    def resolve(self, result):
        self.done = True
        try:
            self._result = self.convert(result)
        except VTPUError as exc:
            self._error = exc

    def result(self):
        if not self.done:
            raise RuntimeError("the batch has not been sent yet")
        if self._error is not None:
            raise self._error
        return self._result


class VTPU:
    """A vTPU behind any backend: ``model`` (default), ``sim``, ``verilator``, ``serial``.

    ``options`` go to the backend: ``entries`` (keys it can hold), ``sentrons``,
    and for the gateware's set-associative table ``sets`` and ``ways``, for the
    model and the simulators; ``port`` (and ``board``) for ``serial``.
    """

    def __init__(self, backend="model", *, symbols=None, width=COORD_WIDTH, **options):
        self.backend = open_backend(backend, **options) if isinstance(backend, str) else backend
        self.symbols = symbols if symbols is not None else SymbolTable(width=width)
        self.width = width
        self.heap = {}                 # handle -> text
        self._refs = Counter()         # handle -> coordinates holding it
        self._handles = {}             # coordinate -> handle of the text stored there
        self._kinds = {}               # coordinate -> "text", "bytes" or "numpy" (else an int)
        self._tag = 0
        self._batch = None
        self.stats = {"round_trips": 0, "instructions": {}, "statuses": {},
                      "bytes_sent": 0, "bytes_received": 0}

    # --- plumbing ---------------------------------------------------------------

    def close(self):
        self.backend.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def coord(self, coord):
        """Text or nine ints -> a checked tuple; ``CoordError`` (a ValueError) if neither."""
        return to_coord(coord, width=self.width, symbols=self.symbols)

    def pattern(self, pattern):
        if isinstance(pattern, Pattern):
            return pattern
        if isinstance(pattern, str):
            return parse_pattern(pattern, width=self.width, symbols=self.symbols)
        return Pattern.exact(self.coord(pattern))

    def format(self, coord):
        return format_coord(coord, self.symbols)

    def delta(self, offset):
        """``(0, 0, 1, ...)`` or ``"0.0.1/0.0.0/0.0.-2"`` -> nine signed ints.

        A text component may be signed (``+1``, ``-2``) and may be a label
        (``father``, ``+father``, ``-father``): the label's number in its
        dimension's symbol table, added (or subtracted). See the module
        docstring for how components beyond the wire's field are carried."""
        if isinstance(offset, str):
            parts = [p.strip() for group in offset.strip().split("/") for p in group.split(".")]
            if len(parts) != DIMS:
                raise CoordError(f"delta {offset!r}: expected {DIMS} components "
                                 f"(a.b.c/d.e.f/g.h.i), got {len(parts)}")
            return tuple(self._delta_component(offset, dim, p) for dim, p in enumerate(parts))
        try:
            offset = tuple(int(d) for d in offset)
        except (TypeError, ValueError):
            raise ValueError(f"a delta is text like '0.0.1/0.0.0/0.0.-2' or {DIMS} signed ints, "
                             f"not {offset!r}") from None
        if len(offset) != DIMS:
            raise ValueError(f"a delta has {DIMS} components, got {len(offset)}")
        return offset

    def _delta_component(self, text, dim, part):
        sign, body = (-1, part[1:]) if part[:1] == "-" else (1, part[1:] if part[:1] == "+" else part)
        if body.isascii() and body.isdigit():
            return sign * int(body)
        if body and (body[0].isalpha() or body[0] == "_"):
            return sign * self.symbols.intern(dim, body)
        raise CoordError(f"delta {text!r}, component {dim + 1} ({COMPONENT_NAMES[dim]}): "
                         f"{part!r} is not a signed integer or a label", dim)

    def _fold(self, coord, deltas, entity=None):
        """(coordinate, deltas) to send for these: the same answers, with every
        delta component inside the wire's signed W-bit field.

        A component ``dim`` beyond the field (a label's number, say) is carried
        by the coordinate: ``target = coord[dim] + delta[dim]`` is what the
        device would reach (components other than ``entity`` stay the start's
        on every CKG hop), so the coordinate sent takes some ``s`` there and
        each delta ``target - s``. The first hop whose target leaves the range
        is the last one the device could reach: it is sent as a delta that
        leaves the range for sure, and OVERFLOW comes back as it would."""
        low, high = -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1
        top = max_value(self.width)
        wide = [dim for dim in range(DIMS) if any(not low <= d[dim] <= high for d in deltas)]
        if not wide:
            return tuple(coord), [tuple(d) for d in deltas]
        if entity in wide:
            raise _bad(f"delta component {entity + 1} ({COMPONENT_NAMES[entity]}) is the entity "
                       f"component, which the device sets hop by hop: its delta must be in "
                       f"{low}..{high}")
        out = next((h for h, d in enumerate(deltas)
                    if any(not 0 <= coord[dim] + d[dim] <= top for dim in wide)), None)
        coord, deltas = list(coord), [list(d) for d in deltas[:out]]
        for dim in wide:
            targets = [coord[dim] + d[dim] for d in deltas]
            if targets:        # all inside the range: they span at most high - low
                coord[dim] = min(max(coord[dim], max(targets) - high), min(targets) - low)
            for d, t in zip(deltas, targets):
                d[dim] = t - coord[dim]
        if out is not None:
            # From x <= high, -(x + 1) leaves the range below; from x > high + 1,
            # top - x + 1 above; only x == high + 1 in every component cannot.
            for dim in (d for d in range(DIMS) if d != entity):
                x = coord[dim]
                if x != high + 1:
                    leave = -(x + 1) if x <= high else top - x + 1
                    deltas.append([leave if d == dim else 0 for d in range(DIMS)])
                    break
            else:
                raise _bad(f"a delta leaves the coordinate range from {coord}, and no "
                           f"{self.width}-bit delta can say so")
        return tuple(coord), [tuple(d) for d in deltas]

    def _field(self, op, name, value, what=None):
        """``value`` checked against the width of ``op``'s field ``name`` (vtpu.isa)."""
        kind = next(f.kind for f in PAYLOAD[op] if f.name == name)
        top = (1 << 8 * field_bytes(kind)) - 1
        try:
            if isinstance(value, bool):
                raise TypeError
            value = operator.index(value)
        except TypeError:
            raise _bad(f"{op.name} {what or name}={value!r} must be an int 0..{top}") from None
        if not 0 <= value <= top:
            raise _bad(f"{op.name} {what or name}={value} is outside 0..{top} "
                       f"(field {name} is {kind} in vtpu.isa)")
        return value

    def _content(self, coord, value):
        """A stored word as the user gave it: text from the heap, a vector, or the int."""
        kind = self._kinds.get(coord)
        if kind == "text" or (kind is None and value & HANDLE_BIT):
            return self.heap.get(value, value)
        if kind == "bytes":
            return value.to_bytes(VECTOR_BYTES, "little")
        if kind == "numpy":
            import numpy
            return numpy.frombuffer(value.to_bytes(VECTOR_BYTES, "little"), dtype=numpy.int8).copy()
        return value

    def _encode(self, content):
        """(word, kind) for a content; kind is None for an int."""
        if isinstance(content, str):
            handle = text_handle(content)
            held = self.heap.get(handle)
            if held is not None and held != content:
                raise HandleCollision(f"text {content[:40]!r} has handle {handle:#x}, which holds "
                                      f"the different text {held[:40]!r}; nothing was stored")
            self.heap[handle] = content
            return handle, "text"
        if isinstance(content, (bytes, bytearray)):
            if len(content) != VECTOR_BYTES:
                raise ValueError(f"a vector is {VECTOR_BYTES} bytes ({LANES} int8 lanes, lane 0 "
                                 f"first), got {len(content)}")
            return int.from_bytes(content, "little"), "bytes"
        if type(content).__module__ == "numpy" and hasattr(content, "dtype"):
            if str(content.dtype) != "int8" or getattr(content, "shape", None) != (LANES,):
                raise ValueError(f"a numpy vector is an int8 array of {LANES}, not "
                                 f"{content.dtype} of shape {getattr(content, 'shape', ())}")
            return int.from_bytes(content.tobytes(), "little"), "numpy"
        if isinstance(content, bool) or not isinstance(content, int):
            raise TypeError(f"content must be str, int, or an int8x8 vector ({VECTOR_BYTES} bytes "
                            f"or a numpy int8 array of {LANES}), not {type(content).__name__}")
        if not 0 <= content < HANDLE_BIT:
            raise ValueError(f"integer content must be in 0..{HANDLE_BIT - 1} (bit "
                             f"{VALUE_WIDTH - 1} marks text handles; an int8x8 vector, which uses "
                             f"all {VALUE_WIDTH} bits, goes in as {VECTOR_BYTES} bytes or a numpy "
                             f"int8 array)")
        return content, None

    def _forget(self, coord):
        """What the client kept for the content at ``coord`` (overwritten or deleted)."""
        self._kinds.pop(coord, None)
        handle = self._handles.pop(coord, None)
        if handle is not None:
            self._refs[handle] -= 1
            if self._refs[handle] <= 0:
                del self._refs[handle]
                self.heap.pop(handle, None)

    def _issue(self, op, fields, convert):
        pending = Pending(op, fields, convert)
        if self._batch is not None:
            self._batch.append(pending)
            return pending
        self._send([pending])
        return pending.result()

    def _send(self, pendings):
        frames, tags = bytearray(), []
        for p in pendings:
            frames += command_frame(p.op, self._tag, width=self.width, **p.fields)
            tags.append(self._tag)
            self._tag = (self._tag + 1) % 256
        data = self.backend.transact(bytes(frames))
        self.stats["round_trips"] += 1
        self.stats["bytes_sent"] += len(frames)
        self.stats["bytes_received"] += len(data)
        responses = iter(parse_responses(data))
        for p, tag in zip(pendings, tags):
            records = []
            for r in responses:
                if r.tag != tag:
                    raise VTPUError(Status.BAD_FRAME, f"answer tagged {r.tag}, expected {tag}")
                if r.more:
                    records.append(r.fields(p.op))
                    continue
                result = Result(r.status, r.fields(p.op) if r.status == Status.OK else {}, records)
                break
            else:
                raise VTPUError(Status.BAD_FRAME, f"no answer to {p.op.name} (tag {tag})")
            name = p.op.name
            self.stats["instructions"][name] = self.stats["instructions"].get(name, 0) + 1
            self.stats["statuses"][r.status.name] = self.stats["statuses"].get(r.status.name, 0) + 1
            p.resolve(result)

    def _check(self, op, result, what, records=None):
        """``result`` if OK; else the status's error, holding the records
        answered before it as ``records(result)`` gives them (the OK shape)."""
        if result.status != Status.OK:
            error = _ERRORS.get(result.status, VTPUError)
            raise error(result.status, f"{op.name} {what}",
                        records(result) if records else result.records)
        return result

    def _run(self, op, what, convert, records=None, **fields):
        return self._issue(op, fields, lambda r: convert(self._check(op, r, what, records)))

    @contextmanager
    def batch(self):
        """Pipeline many instructions in one round trip::

            with v.batch() as b:
                a = b.cput(x, 1); got = b.cget(x)
            got.result()

        Inside the block the methods return ``Pending`` answers; the frames
        go out together when the block ends.
        """
        if self._batch is not None:
            raise RuntimeError("batches do not nest")
        self._batch = []
        try:
            yield self
            pendings = self._batch
        finally:
            self._batch = None
        if pendings:
            self._send(pendings)

    # --- point instructions --------------------------------------------------------

    def cget(self, coord):
        c = self.coord(coord)
        return self._run(Op.CGET, self.format(c), lambda r: self._content(c, r.fields["value"]),
                         coord=c)

    def cput(self, coord, content):
        """Store an int, a text, or an int8x8 vector (see the module docstring)."""
        c = self.coord(coord)
        value, kind = self._encode(content)

        def done(result):
            if result.status != Status.OK:
                if kind == "text" and not self._refs[value]:
                    self.heap.pop(value, None)     # nothing was stored: nothing to keep
                self._check(Op.CPUT, result, self.format(c))
            self._forget(c)
            if kind == "text":
                self.heap[value] = content
                self._refs[value] += 1
                self._handles[c] = value
            if kind is not None:
                self._kinds[c] = kind
            return None
        return self._issue(Op.CPUT, {"coord": c, "value": value}, done)

    def cdel(self, coord):
        c = self.coord(coord)

        def done(result):
            self._check(Op.CDEL, result, self.format(c))
            self._forget(c)
        return self._issue(Op.CDEL, {"coord": c}, done)

    # --- coordinate arithmetic and routing ---------------------------------------------

    def cdelta(self, base, offset):
        c, d = self.coord(base), self.delta(offset)
        sent, (wire,) = self._fold(c, [d])
        return self._run(Op.CDELTA, f"{self.format(c)} + {d}",
                         lambda r: self.format(r.fields["coord"]), coord=sent, delta=wire)

    def chier(self, coord, direction="UP"):
        """UP: the enclosing pattern (the deepest fixed component becomes ``*``);
        DOWN: everything stored inside the pattern, as ``crange``."""
        p = self.pattern(coord)
        d = _choice(Dir, direction, "CHIER direction")
        if d == Dir.UP:
            return self._run(Op.CHIER, format_pattern(p, self.symbols),
                             lambda r: format_pattern(r.fields["pattern"], self.symbols),
                             pattern=p, dir=d)
        return self._run(Op.CHIER, format_pattern(p, self.symbols), self._stored_records,
                         self._stored_records, pattern=p, dir=d)

    def croute(self, coord, num_nodes, mode="hash"):
        c = self.coord(coord)
        m = _choice(RouteMode, mode, "CROUTE mode")
        n = self._field(Op.CROUTE, "n", num_nodes, "num_nodes")
        return self._run(Op.CROUTE, self.format(c), lambda r: r.fields["node"],
                         coord=c, n=n, mode=m)

    def crtset(self, index, bound, node):
        """Load entry ``index`` of the CROUTE range-ownership table."""
        b = self.coord(bound)
        index, node = self._field(Op.CRTSET, "index", index), self._field(Op.CRTSET, "node", node)
        return self._run(Op.CRTSET, f"entry {index}", lambda r: None,
                         index=index, bound=b, node=node)

    def cmoe(self, coord, num_experts):
        c = self.coord(coord)
        n = self._field(Op.CMOE, "n", num_experts, "num_experts")
        return self._run(Op.CMOE, self.format(c), lambda r: r.fields["expert"], coord=c, n=n)

    # --- range instructions --------------------------------------------------------------

    def _stored_records(self, result):
        return [(self.format(rec["coord"]), self._content(rec["coord"], rec["value"]))
                for rec in result.records]

    def crange(self, pattern):
        """[(coordinate, content)] inside the pattern, ascending Z-order."""
        p = self.pattern(pattern)
        return self._run(Op.CRANGE, format_pattern(p, self.symbols), self._stored_records,
                         self._stored_records, pattern=p)

    def _nearest_records(self, result):
        return [(self.format(rec["coord"]), self._content(rec["coord"], rec["value"]),
                 rec["distance"]) for rec in result.records]

    def cnearest(self, coord, k):
        """The k stored coordinates nearest in L1: [(coordinate, content, distance)]."""
        c = self.coord(coord)
        k = self._field(Op.CNEAREST, "k", k)
        return self._run(Op.CNEAREST, self.format(c), self._nearest_records,
                         self._nearest_records, coord=c, k=k)

    def _scored_records(self, result):
        return [(self.format(rec["coord"]), rec["score"]) for rec in result.records]

    def cattend(self, query_coord, key_pattern, top_k, mode="dot"):
        """The top_k keys inside the pattern by score: [(coordinate, score)].

        DOT scores the int8x8 vectors stored at the query and at each key (lane
        0 in the low byte: store them as 8 bytes or a numpy int8 array)."""
        c, p = self.coord(query_coord), self.pattern(key_pattern)
        m = _choice(AttendMode, mode, "CATTEND mode")
        k = self._field(Op.CATTEND, "k", top_k, "top_k")
        return self._run(Op.CATTEND, self.format(c), self._scored_records, self._scored_records,
                         coord=c, pattern=p, k=k, mode=m)

    def ckg(self, start_coord, relation_deltas, hops=None, *, entity=0):
        """Follow ``hops`` relations (the deltas, cycled) from ``start_coord``,
        substituting each value into component ``entity``: [(edge, content)].
        On an error status the exception's ``records`` hold the path so far,
        in the same shape."""
        c = self.coord(start_coord)
        deltas = [self.delta(d) for d in relation_deltas]
        if not deltas:
            raise ValueError("ckg needs at least one relation delta")
        hops = len(deltas) if hops is None else hops
        if isinstance(hops, bool) or not isinstance(hops, int) or not 1 <= hops <= MAX_HOPS:
            raise _bad(f"CKG hops={hops!r}: one instruction takes 1..{MAX_HOPS} hops "
                       f"(vtpu.isa.MAX_HOPS)")
        entity = self._field(Op.CKG, "entity", entity)
        path = [deltas[i % len(deltas)] for i in range(hops)]
        sent, path = self._fold(c, path, entity)
        return self._run(Op.CKG, self.format(c), self._stored_records, self._stored_records,
                         coord=sent, entity=entity, hops=len(path), deltas=path)

    def cdigest(self, pattern):
        """(count, digest) of everything inside the pattern."""
        p = self.pattern(pattern)
        return self._run(Op.CDIGEST, format_pattern(p, self.symbols),
                         lambda r: (r.fields["count"], r.fields["digest"]), pattern=p)

    # --- status ------------------------------------------------------------------------------

    def get_stats(self):
        return {"backend": self.backend.name, "capacity": self.backend.capacity,
                "instructions_supported": sorted(op.name for op in self.backend.ops),
                "heap_scrolls": len(self.heap),
                "heap_bytes": sum(len(t.encode()) for t in self.heap.values()),
                **{k: (dict(v) if isinstance(v, dict) else v) for k, v in self.stats.items()}}

    def health(self):
        """One round trip: a CDIGEST of everything, whose count is the keys
        stored (a CGET, OK or NOT_FOUND, where the device lacks CDIGEST:
        ``stored`` is then None). ``capacity``: the keys it can hold."""
        stored = None
        try:
            if Op.CDIGEST in self.backend.ops:
                stored, _ = self.cdigest("*.*.*/*.*.*/*.*.*")
            else:
                self.cget((0,) * DIMS)
        except NotFound:
            pass
        except Exception as exc:    # the point is to report, not to raise
            return {"status": "error", "backend": self.backend.name, "error": str(exc)}
        return {"status": "ok", "backend": self.backend.name,
                "capacity": self.backend.capacity, "stored": stored}
