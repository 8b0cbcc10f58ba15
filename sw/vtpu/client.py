"""The Python client: ``from vtpu import VTPU``.

    >>> v = VTPU()                                    # the golden model
    >>> v.cput("2.1.3/4.7.2/9.2.2", "hello")          # text goes to the host heap
    >>> v.cget("2.1.3/4.7.2/9.2.2")
    'hello'

Every method sends ISA frames through a driver backend (``vtpu.driver``), so
it behaves the same on the model, the RTL in a simulator and a board.

Contents: an ``int`` in ``0 .. 2**63 - 1`` is stored as it is; a ``str`` is
kept in a heap on the host and the hardware stores its handle, a value with
bit 63 set. Coordinates are text (``"1.2.3/4.5.6/7.8.9"``, labels allowed and
interned through ``symbols`` into the top half of each component's range,
where plain numbers are refused: see ``vtpu.coord``) or tuples of nine
integers; anything else raises ``vtpu.coord.CoordError``. Any status other
than OK raises a ``VTPUError`` subclass carrying the status (and, for the
multi-result instructions, the records answered before it).
"""

from contextlib import contextmanager

from .coord import (DIMS, Pattern, SymbolTable, format_coord, format_pattern, parse_pattern,
                    to_coord)
from .driver import open_backend
from .frame import command_frame, parse_responses
from .isa import COORD_WIDTH, VALUE_WIDTH, AttendMode, Dir, Op, RouteMode, Status
from .model import Result

__all__ = ["VTPU", "VTPUError", "NotFound", "TableFull", "Overflow", "BadArgument",
           "Unsupported", "BadFrame", "HANDLE_BIT"]

HANDLE_BIT = 1 << (VALUE_WIDTH - 1)


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

    ``options`` go to the backend: ``sets``, ``ways``, ``sentrons`` for the
    model and the simulators, ``port`` (and ``board``) for ``serial``.
    """

    def __init__(self, backend="model", *, symbols=None, width=COORD_WIDTH, **options):
        self.backend = open_backend(backend, **options) if isinstance(backend, str) else backend
        self.symbols = symbols if symbols is not None else SymbolTable(width=width)
        self.width = width
        self.heap = {}                 # handle -> text
        self._handles = {}             # coordinate -> handle of the text stored there
        self._next_handle = 1
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

    @staticmethod
    def delta(offset):
        """``(0, 0, 1, ...)`` or ``"0.0.1/0.0.0/0.0.-2"`` -> nine signed ints."""
        if isinstance(offset, str):
            parts = [p for group in offset.strip().split("/") for p in group.split(".")]
            try:
                offset = [int(p) for p in parts]
            except ValueError:
                raise ValueError(f"delta {offset!r}: components must be signed integers") from None
        try:
            offset = tuple(int(d) for d in offset)
        except (TypeError, ValueError):
            raise ValueError(f"a delta is text like '0.0.1/0.0.0/0.0.-2' or {DIMS} signed ints, "
                             f"not {offset!r}") from None
        if len(offset) != DIMS:
            raise ValueError(f"a delta has {DIMS} components, got {len(offset)}")
        return offset

    def _content(self, value):
        """A stored value as the user gave it: text from the heap, or the int."""
        if value & HANDLE_BIT and value in self.heap:
            return self.heap[value]
        return value

    def _store(self, content):
        if isinstance(content, str):
            handle = HANDLE_BIT | self._next_handle
            self._next_handle += 1
            self.heap[handle] = content
            return handle
        if isinstance(content, bool) or not isinstance(content, int):
            raise TypeError(f"content must be str or int, not {type(content).__name__}")
        if not 0 <= content < HANDLE_BIT:
            raise ValueError(f"integer content must be in 0..{HANDLE_BIT - 1} "
                             f"(bit {VALUE_WIDTH - 1} marks heap handles)")
        return content

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

    def _check(self, op, result, what):
        if result.status != Status.OK:
            error = _ERRORS.get(result.status, VTPUError)
            raise error(result.status, f"{op.name} {what}", result.records)
        return result

    def _run(self, op, what, convert, **fields):
        return self._issue(op, fields, lambda r: convert(self._check(op, r, what)))

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
        return self._run(Op.CGET, self.format(c), lambda r: self._content(r.fields["value"]),
                         coord=c)

    def cput(self, coord, content):
        c = self.coord(coord)
        value = self._store(content)

        def done(result):
            if result.status != Status.OK:
                if isinstance(content, str):
                    del self.heap[value]       # nothing was stored: nothing to keep
                self._check(Op.CPUT, result, self.format(c))
            old = self._handles.pop(c, None)
            if old is not None:
                self.heap.pop(old, None)       # overwritten: its text is unreachable
            if isinstance(content, str):
                self._handles[c] = value
            return None
        return self._issue(Op.CPUT, {"coord": c, "value": value}, done)

    def cdel(self, coord):
        c = self.coord(coord)

        def done(result):
            self._check(Op.CDEL, result, self.format(c))
            self.heap.pop(self._handles.pop(c, None), None)
        return self._issue(Op.CDEL, {"coord": c}, done)

    # --- coordinate arithmetic and routing ---------------------------------------------

    def cdelta(self, base, offset):
        c, d = self.coord(base), self.delta(offset)
        return self._run(Op.CDELTA, f"{self.format(c)} + {d}",
                         lambda r: self.format(r.fields["coord"]), coord=c, delta=d)

    def chier(self, coord, direction="UP"):
        """UP: the enclosing pattern (the deepest fixed component becomes ``*``);
        DOWN: everything stored inside the pattern, as ``crange``."""
        p = self.pattern(coord)
        d = Dir[direction.upper()] if isinstance(direction, str) else Dir(direction)
        if d == Dir.UP:
            return self._run(Op.CHIER, format_pattern(p, self.symbols),
                             lambda r: format_pattern(r.fields["pattern"], self.symbols),
                             pattern=p, dir=d)
        return self._run(Op.CHIER, format_pattern(p, self.symbols), self._stored_records,
                         pattern=p, dir=d)

    def croute(self, coord, num_nodes, mode="hash"):
        c = self.coord(coord)
        m = RouteMode[mode.upper()] if isinstance(mode, str) else RouteMode(mode)
        return self._run(Op.CROUTE, self.format(c), lambda r: r.fields["node"],
                         coord=c, n=num_nodes, mode=m)

    def crtset(self, index, bound, node):
        """Load entry ``index`` of the CROUTE range-ownership table."""
        b = self.coord(bound)
        return self._run(Op.CRTSET, f"entry {index}", lambda r: None,
                         index=index, bound=b, node=node)

    def cmoe(self, coord, num_experts):
        c = self.coord(coord)
        return self._run(Op.CMOE, self.format(c), lambda r: r.fields["expert"],
                         coord=c, n=num_experts)

    # --- range instructions --------------------------------------------------------------

    def _stored_records(self, result):
        return [(self.format(rec["coord"]), self._content(rec["value"])) for rec in result.records]

    def crange(self, pattern):
        """[(coordinate, content)] inside the pattern, ascending Z-order."""
        p = self.pattern(pattern)
        return self._run(Op.CRANGE, format_pattern(p, self.symbols), self._stored_records,
                         pattern=p)

    def cnearest(self, coord, k):
        """The k stored coordinates nearest in L1: [(coordinate, content, distance)]."""
        c = self.coord(coord)
        return self._run(Op.CNEAREST, self.format(c), lambda r: [
            (self.format(rec["coord"]), self._content(rec["value"]), rec["distance"])
            for rec in r.records], coord=c, k=k)

    def cattend(self, query_coord, key_pattern, top_k, mode="dot"):
        """The top_k keys inside the pattern by score: [(coordinate, score)]."""
        c, p = self.coord(query_coord), self.pattern(key_pattern)
        m = AttendMode[mode.upper()] if isinstance(mode, str) else AttendMode(mode)
        return self._run(Op.CATTEND, self.format(c), lambda r: [
            (self.format(rec["coord"]), rec["score"]) for rec in r.records],
            coord=c, pattern=p, k=top_k, mode=m)

    def ckg(self, start_coord, relation_deltas, hops=None, *, entity=0):
        """Follow ``hops`` relations (the deltas, cycled) from ``start_coord``,
        substituting each value into component ``entity``: [(edge, content)]."""
        c = self.coord(start_coord)
        deltas = [self.delta(d) for d in relation_deltas]
        if not deltas:
            raise ValueError("ckg needs at least one relation delta")
        hops = len(deltas) if hops is None else hops
        path = [deltas[i % len(deltas)] for i in range(hops)]
        return self._run(Op.CKG, self.format(c), self._stored_records,
                         coord=c, entity=entity, hops=hops, deltas=path)

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
        """One round trip: a CGET must come back OK or NOT_FOUND."""
        try:
            self.cget((0,) * DIMS)
        except NotFound:
            pass
        except Exception as exc:    # the point is to report, not to raise
            return {"status": "error", "backend": self.backend.name, "error": str(exc)}
        return {"status": "ok", "backend": self.backend.name}
