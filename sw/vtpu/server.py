"""``vtpu serve``: the vTPU over HTTP (aiohttp). ``docs/server.md`` is the user's page.

Routes, over one store of scrolls at a time (SQ's model: a request for another
store loads it first):

* the phext ecosystem's SQ REST API, ``/api/v2/<command>`` with query
  parameters ``p`` (phext name), ``c`` (coordinate, SQ's forms) and ``s``
  (scroll; a POST body is taken instead), answering plain text; ``POST
  /api/v2/where`` (SQ's coordinate inference) and ``/api/v2/save`` (a
  checkpoint, an extension);
* the original prototype's JSON routes: ``GET /health``, ``GET /read/{coord}``,
  ``POST /write`` (``{"coordinate", "content"}``), ``GET /range/{pattern}``, on
  the store named by ``--phext`` (default ``world``), every component 0..65535;
* ``POST /api/v1/<instruction>`` (``cget``, ``cnearest``, ...): every instruction
  of the ISA, JSON in and out, run on the device over the store ``phext``
  (JSON field or ``p``; default ``--phext``).

The device stores each scroll's handle at the scroll's coordinate (an integer
value is stored as itself); the server keeps the texts. Every change is
appended to the store's log and synced (group commit) before it is
acknowledged; the ``.phext`` file is a snapshot written at checkpoints (log
size, ``/api/v2/save``, shutdown). ``vtpu.wal`` has the file formats.
"""

import asyncio
import errno
import fcntl
import hmac
import itertools
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import traceback
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, unquote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_server import Server as _AioServer
from phext.phext import Phext

from . import wal
from .coord import COMPONENT_NAMES, CoordError, Pattern, format_coord, in_box, morton, \
    parse_coord, parse_pattern
from .driver import BackendError, open_backend
from .frame import FrameError, command_frame, encode_fields, parse_responses
from .isa import DIMS, MAX_HOPS, PAYLOAD, AttendMode, Dir, Op, RouteMode, Status
from .model import Result
from .phextio import (PHEXT_MAX, PHEXT_MIN, TextError, check_phext_coord, decode_utf8,
                      dump_phext)

__all__ = ["Store", "Stores", "StoreError", "make_server", "serve", "VERSION", "where",
           "sq_coordinate", "check_content", "DEFAULT_ENTRIES"]

VERSION = "0.1.0"   # of the vtpu package; SQ answers its own crate version

DEFAULT_ENTRIES = 131_072          # the model backend holds this many scrolls
DEFAULT_MAX_BODY = 64 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0             # seconds: idle connection, request headers, request body
DEFAULT_CHECKPOINT_BYTES = 64 * 1024 * 1024
HANDLE_BIT = 1 << 63               # a text's handle on the device (as the Python client's)
DEFAULT_COORDINATE = (1,) * DIMS
MISSING_SCROLL = "---sq:Scroll-Missing---"
_EVERYTHING = Pattern((0,) * DIMS, (65535,) * DIMS, (1 << DIMS) - 1)


class StoreError(Exception):
    """A request the server refuses: carries the HTTP status to answer."""

    def __init__(self, status, message, *, close=False, headers=None, body=None):
        super().__init__(message)
        self.status = status
        self.close = close             # also close the connection (body left unread)
        self.headers = headers or {}
        self.body = body               # JSON answer, when not {"error": message}


def _bad(message):
    return StoreError(HTTPStatus.BAD_REQUEST, message)


# --- Names, coordinates, content ---------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(name):
    """A phext name: a plain file stem, never a path."""
    if not name:
        raise _bad("missing phext name (parameter p)")
    if ".." in name or "/" in name or "\\" in name or "\0" in name:
        raise StoreError(HTTPStatus.FORBIDDEN, f"phext name {name!r} refused: it may not "
                                               f"contain '..', '/' or '\\'")
    if _CONTROL.search(name) or len(name.encode("utf-8", "surrogatepass")) > 200 \
            or name.startswith("."):
        raise StoreError(HTTPStatus.FORBIDDEN, f"phext name {name!r} refused: no control "
                                               f"characters, no leading '.', at most 200 bytes")
    return name[:-len(".phext")] if name.endswith(".phext") else name


def _fmt(coord):
    return format_coord(coord)


def wide_coordinate(text, what="coordinate"):
    """Full form ``a.b.c/d.e.f/g.h.i`` (``;`` may stand for ``/``), components 0..65535."""
    if not text:
        raise _bad(f"missing {what}")
    try:
        return parse_coord(text.replace(";", "/"))
    except CoordError as exc:
        raise _bad(str(exc)) from None


def sq_coordinate(text):
    """A coordinate as SQ (libphext's ``to_coordinate``) reads it, components 1..999.

    ``a.b.c/d.e.f/g.h.i`` or ``a.b.c;d.e.f;g.h.i``; or a short form of 1 to 9
    numbers separated by ``.``: the first ones are library, shelf, ... in order,
    the last one is the scroll, and the rest are 1 (``1.1.5`` is
    ``1.1.1/1.1.1/1.1.5``, ``2.5`` is ``2.1.1/1.1.1/1.1.5``). Empty: 1.1.1/1.1.1/1.1.1.
    """
    if not text:
        return DEFAULT_COORDINATE
    full = text.replace(";", "/")
    try:
        if "/" in full:
            return check_phext_coord(parse_coord(full))
        parts = full.split(".")
        if len(parts) > DIMS:
            raise CoordError(f"coordinate {text!r}: expected {DIMS} components, or a short form "
                             f"of at most {DIMS} numbers, got {len(parts)}")
        coord = list(DEFAULT_COORDINATE)
        for i, part in enumerate(parts):
            dim = DIMS - 1 if i == len(parts) - 1 else i
            if not (part.isascii() and part.isdigit()):
                raise CoordError(f"coordinate {text!r} (short form), number {i + 1} "
                                 f"({COMPONENT_NAMES[dim]}): {part!r} is not a number "
                                 f"{PHEXT_MIN}..{PHEXT_MAX}", dim)
            coord[dim] = int(part)
        return check_phext_coord(coord)
    except CoordError as exc:
        raise _bad(str(exc)) from None


_DELIMITERS = {"\x01": "library break", "\x1f": "shelf break", "\x1e": "series break",
               "\x1d": "collection break", "\x1c": "volume break", "\x1a": "book break",
               "\x19": "chapter break", "\x18": "section break", "\x17": "scroll break"}
_DELIMITER = re.compile("[\x01\x17-\x1a\x1c-\x1f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_content(text):
    """Content a scroll can hold, or a 400 naming the first character it cannot."""
    found = _DELIMITER.search(text)
    if found:
        ch = found.group()
        raise _bad(f"content holds U+{ord(ch):04X} ({_DELIMITERS[ch]}) at character "
                   f"{found.start()}: a phext delimiter, which no scroll of a .phext file can "
                   f"hold (U+0001, U+0017..U+001A, U+001C..U+001F are refused); nothing stored")
    found = _SURROGATE.search(text)
    if found:
        raise _bad(f"content holds a lone surrogate U+{ord(found.group()):04X} at character "
                   f"{found.start()}: not Unicode text; nothing stored")
    return text


def decode_text(data, what="body"):
    try:
        return decode_utf8(data, what)
    except TextError as exc:
        raise _bad(str(exc)) from None


# --- SQ's where ----------------------------------------------------------------------------

def _raw(coord):
    return f"{coord[0]}.{coord[1]}.{coord[2]}/{coord[3]}.{coord[4]}.{coord[5]}/" \
           f"{coord[6]}.{coord[7]}.{coord[8]}"


def _phokens(text):
    """(coordinate, scroll) as libphext's ``phokenize`` gives them: every run of
    text at its coordinate, and one empty scroll where the text is empty or ends
    in breaks (its coordinate: the first of those breaks applied)."""
    order = "\x01\x1f\x1e\x1d\x1c\x1a\x19\x18\x17"
    coord, out, i, n = [1] * DIMS, [], 0, len(text)

    def brk(c, ch):
        d = order.index(ch)
        if c[d] + 1 < 1000:
            c[d] += 1
        for lower in range(d + 1, DIMS):
            c[lower] = 1

    runs = list(_SCROLL_RUN.finditer(text))
    if not runs:
        return [(tuple(coord), "")]
    for run in runs:
        for ch in text[i:run.start()]:
            brk(coord, ch)
        out.append((tuple(coord), run.group()))
        i = run.end()
    if i < n:
        brk(coord, text[i])
        out.append((tuple(coord), ""))
    return out


_SCROLL_RUN = re.compile("[^\x01\x17-\x1a\x1c-\x1f]+")


def where(text, algo="xor", limit=100):
    """SQ's ``POST /api/v2/where``: the coordinate SQ infers for ``text``.

    ``xor`` (default): 1.1.1/1.1.1/1.1.1 XOR the coordinate of every scroll of
    ``text`` at least ``limit`` bytes long. ``checksum``: each component from
    two characters of the text's phext checksum (32 hex digits), mod 999, 0 -> 1.
    """
    if algo == "checksum":
        digits = Phext().checksum(text).encode("ascii")
        coord = []
        for start in range(0, 2 * DIMS, 2):
            value = ((digits[start] << 8) | digits[start + 1]) % 999
            coord.append(value or 1)
    else:
        algo = "xor"
        coord = [1] * DIMS
        for at, scroll in _phokens(text):
            if len(scroll.encode("utf-8")) >= limit:
                coord = [a ^ b for a, b in zip(coord, at)]
    return f"Calculated coordinate {_raw(coord)} for input (algo={algo}, limit={limit})."


_USIZE = re.compile(r"\+?[0-9]+\Z")


def _sq_limit(text):
    """SQ parses ``limit`` as a Rust usize, and takes 100 when that fails."""
    if text and _USIZE.match(text) and int(text) < 1 << 64:
        return int(text)
    return 100


# --- The device ------------------------------------------------------------------------------

class DeviceError(Exception):
    """The device answered something the protocol does not allow."""


class Device:
    """The vTPU behind the server. ``run(op, **fields) -> Result`` for any instruction;
    ``run_many`` sends a batch in one round trip. On the model backend the point
    instructions call the golden model's methods directly (the frame path is the
    same functions behind a byte codec, tested on its own); every other backend,
    and every instruction other than CGET/CPUT/CDEL, goes through frames."""

    def __init__(self, backend):
        self.backend = backend
        self.name = backend.name
        self.ops = backend.ops
        self.model = getattr(backend, "model", None) if backend.name == "model" else None
        self._tag = 0
        self.closed = False

    @property
    def capacity(self):
        return self.backend.capacity

    def close(self):
        if not self.closed:
            self.closed = True
            self.backend.close()

    def cget(self, coord):
        if self.model is not None:
            return self.model.cget(coord)
        return self.run(Op.CGET, coord=coord)

    def cput(self, coord, value):
        if self.model is not None:
            return self.model.cput(coord, value)
        return self.run(Op.CPUT, coord=coord, value=value)

    def cdel(self, coord):
        if self.model is not None:
            return self.model.cdel(coord)
        return self.run(Op.CDEL, coord=coord)

    def run(self, op, **fields):
        return self.run_many([(op, fields)])[0]

    def run_many(self, items):
        if not items:
            return []
        if self.model is not None:
            return [self.model.run(op, **fields) for op, fields in items]
        frames, tags = bytearray(), []
        for op, fields in items:
            frames += command_frame(op, self._tag, **fields)
            tags.append(self._tag)
            self._tag = (self._tag + 1) % 256
        responses = iter(parse_responses(self.backend.transact(bytes(frames))))
        results = []
        for (op, _), tag in zip(items, tags):
            records = []
            for r in responses:
                if r.tag != tag:
                    raise DeviceError(f"{op.name}: answer tagged {r.tag}, expected {tag}")
                if r.more:
                    records.append(r.fields(op))
                    continue
                results.append(Result(r.status, r.fields(op) if r.status == Status.OK else {},
                                      records))
                break
            else:
                raise DeviceError(f"no answer to {op.name} (tag {tag})")
        return results

    def health(self):
        try:
            status = self.cget((0,) * DIMS).status
        except Exception as exc:     # the point is to report, not to raise
            return {"status": "error", "backend": self.name, "error": str(exc)}
        if status in (Status.OK, Status.NOT_FOUND):
            return {"status": "ok", "backend": self.name}
        return {"status": "error", "backend": self.name, "error": f"CGET answered {status.name}"}


def _device_failure(op, result, coord=None):
    where_ = f" at {_fmt(coord)}" if coord is not None else ""
    return StoreError(HTTPStatus.BAD_GATEWAY, f"the device answered {op} {result.status.name}"
                                              f"{where_}")


# --- Stores ------------------------------------------------------------------------------------

class Store:
    """One store on the device: its texts, its log, and what is not yet durable."""

    def __init__(self, name, log, device, handles, directory):
        self.name, self.log, self.device, self.dir = name, log, device, Path(directory)
        self.handles = handles
        self.mirror = {}           # coordinate -> (device word, content): what the device holds
        self.pending = {}          # coordinate -> log seq of its last change
        self.floor = log.written   # reads wait for this much of the log (changes from before a reload)
        self.version = 0
        self._phext = None         # (version, phext text)
        self.checkpointing = None  # the running checkpoint's task
        self.checkpoint_bytes = DEFAULT_CHECKPOINT_BYTES
        self.snapshot_bytes = sum(p.stat().st_size for p in
                                  (wal.phext_path(directory, name), wal.sidecar_path(directory, name))
                                  if p.exists())

    # loading

    def _word(self, content):
        return HANDLE_BIT | next(self.handles) if isinstance(content, str) else content

    def load(self, state):
        """Put ``state`` ({coordinate: content}) on the device: all of it, or nothing."""
        items = [(coord, self._word(content), content) for coord, content in state.items()]
        results = self.device.run_many([(Op.CPUT, {"coord": c, "value": w}) for c, w, _ in items])
        if not all(r.ok for r in results):
            self.device.run_many([(Op.CDEL, {"coord": c}) for (c, _, _), r in zip(items, results)
                                  if r.ok])
            full = sum(r.status == Status.TABLE_FULL for r in results)
            if full:
                raise StoreError(HTTPStatus.INSUFFICIENT_STORAGE,
                                 f"{self.name}.phext has {len(items)} scrolls: {full} found no free "
                                 f"room in this vTPU ({self.device.capacity} entries); nothing "
                                 f"loaded (size it with --entries)")
            bad = next(r for r in results if not r.ok)
            raise _device_failure("CPUT", bad)
        self.mirror = {c: (w, content) for c, w, content in items}

    def unload(self):
        """Take the store off the device; return its state."""
        state = {c: content for c, (_, content) in self.mirror.items()}
        self.device.run_many([(Op.CDEL, {"coord": c}) for c in self.mirror])
        self.mirror = {}
        return state

    # reading (callers wait for ``unsettled`` first: reads see durable changes only)

    def unsettled(self, coord=None):
        """The log seq a read of ``coord`` (None: of anything) must wait for, or 0."""
        if self.log.broken is not None:
            raise StoreError(HTTPStatus.SERVICE_UNAVAILABLE, f"the log of {self.name} failed "
                                                             f"({self.log.broken}); restart the server")
        seq = max(self.floor, self.log.written if coord is None else self.pending.get(coord, 0))
        if seq <= self.log.durable:
            if self.pending and self.log.durable == self.log.written:
                self.pending.clear()
            return 0
        return seq

    def get(self, coord):
        """The content at ``coord`` (None if nothing), read from the device."""
        result = self.device.cget(coord)
        entry = self.mirror.get(coord)
        if result.status == Status.NOT_FOUND and entry is None:
            return None
        if result.status != Status.OK:
            raise _device_failure("CGET", result, coord)
        return self._content(coord, result.fields["value"])

    def _content(self, coord, word):
        entry = self.mirror.get(coord)
        if entry is None or entry[0] != word:
            raise StoreError(HTTPStatus.BAD_GATEWAY, f"the device answered {word:#x} at "
                                                     f"{_fmt(coord)}, which the server never stored")
        return entry[1]

    def items(self, pattern=_EVERYTHING):
        """[(coordinate, content)] inside ``pattern``, ascending Z-order, from the device:
        one CRANGE, or (on a core without it) the coordinates from the server's
        index and every value by CGET in one batch."""
        result = self.device.run(Op.CRANGE, pattern=pattern)
        if result.status == Status.BAD_OPCODE:
            inside = sorted((c for c in self.mirror if in_box(c, pattern.lo, pattern.hi)),
                            key=morton)
            results = self.device.run_many([(Op.CGET, {"coord": c}) for c in inside])
            bad = next((r for r in results if not r.ok), None)
            if bad is not None:
                raise _device_failure("CGET", bad)
            return [(c, self._content(c, r.fields["value"])) for c, r in zip(inside, results)]
        if result.status != Status.OK:
            raise _device_failure("CRANGE", result)
        return [(rec["coord"], self._content(rec["coord"], rec["value"])) for rec in result.records]

    def phext_text(self):
        """The store as a phext (its text scrolls at phext coordinates), cached until a change."""
        if self._phext is None or self._phext[0] != self.version:
            self._phext = (self.version, dump_phext(self.phext_scrolls()))
        return self._phext[1]

    def phext_scrolls(self):
        return sorted((c, t) for c, t in self.items() if wal.in_phext(c, t))

    # writing: device first (TABLE_FULL refuses before anything is logged), then the log

    def put(self, coord, content):
        """Store ``content`` (str or int) at ``coord``; return the log seq to wait for."""
        if isinstance(content, str):
            check_content(content)
        word = self._word(content)
        old = self.mirror.get(coord)
        result = self.device.cput(coord, word)
        if result.status == Status.TABLE_FULL:
            raise StoreError(HTTPStatus.INSUFFICIENT_STORAGE,
                             f"table full: no room for {_fmt(coord)} ({self.device.capacity} "
                             f"entries); nothing stored, nothing evicted (size it with --entries)")
        if result.status != Status.OK:
            raise _device_failure("CPUT", result, coord)
        try:
            seq = self.log.append(wal.TEXT if isinstance(content, str) else wal.INT, coord, content)
        except wal.LogError as exc:
            self._undo(coord, old)
            raise self._log_failure(exc) from None
        self.mirror[coord] = (word, content)
        return self._changed(coord, seq)

    def delete(self, coord):
        """Remove ``coord``; the log seq to wait for, or None if nothing was there."""
        old = self.mirror.get(coord)
        if old is None:
            return None
        result = self.device.cdel(coord)
        if result.status != Status.OK:
            raise _device_failure("CDEL", result, coord)
        try:
            seq = self.log.append(wal.DELETE, coord)
        except wal.LogError as exc:
            self._undo(coord, old)
            raise self._log_failure(exc) from None
        del self.mirror[coord]
        return self._changed(coord, seq)

    def _undo(self, coord, old):
        if old is None:
            self.device.cdel(coord)
        else:
            self.device.cput(coord, old[0])

    @staticmethod
    def _log_failure(exc):
        status = (HTTPStatus.INSUFFICIENT_STORAGE if exc.errno in (errno.ENOSPC, errno.EDQUOT)
                  else HTTPStatus.SERVICE_UNAVAILABLE)
        return StoreError(status, f"{exc.strerror}; nothing stored")

    def _changed(self, coord, seq):
        self.pending[coord] = seq
        self.version += 1
        if (self.checkpointing is None
                and self.log.bytes > max(self.checkpoint_bytes, 2 * self.snapshot_bytes)):
            self.checkpointing = asyncio.ensure_future(self._checkpoint())
        return seq

    # checkpoints

    async def checkpoint(self):
        """Write the snapshot files from the store's state and drop the log they cover."""
        while self.checkpointing is not None:
            await asyncio.shield(self.checkpointing)
        self.checkpointing = asyncio.ensure_future(self._checkpoint())
        error = await asyncio.shield(self.checkpointing)
        if error is not None:
            raise StoreError(HTTPStatus.SERVICE_UNAVAILABLE, f"checkpoint of {self.name} "
                                                             f"failed: {error}; its log is kept")

    async def _checkpoint(self):
        """The checkpoint itself: returns None, or the OSError that stopped it (logged)."""
        try:
            covered = self.log.rotate()
            items = [(c, content) for c, (_, content) in self.mirror.items()]
            loop = asyncio.get_running_loop()
            self.snapshot_bytes = await loop.run_in_executor(None, wal.write_snapshot, self.dir,
                                                             self.name, items)
            await loop.run_in_executor(None, wal.Log.unlink, self.dir, covered)
            self.log.forget(covered)
            return None
        except OSError as exc:
            print(f"vtpu serve: checkpoint of {self.name} failed: {exc}; its log is kept",
                  file=sys.stderr, flush=True)
            return exc
        finally:
            self.checkpointing = None


class Stores:
    """The stores of a data directory; one at a time on the device."""

    def __init__(self, device, directory, *, checkpoint_bytes=DEFAULT_CHECKPOINT_BYTES):
        self.vtpu = device             # the name the HTTP tests and the CLI use
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        # One server per data directory: a second would delete the first's
        # snapshots in progress and, at its checkpoints, log segments it holds.
        self._dir_lock = open(self.dir / ".vtpu-serve.lock", "w")
        try:
            fcntl.flock(self._dir_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._dir_lock.close()
            raise OSError(errno.EBUSY, "another vtpu serve is using it") from None
        for entry in os.listdir(self.dir):      # a snapshot a crash cut short (wal.atomic_write)
            if entry.startswith(".") and entry.endswith(".tmp") and ".phext" in entry:
                (self.dir / entry).unlink(missing_ok=True)
        self.checkpoint_bytes = checkpoint_bytes
        self.current = None
        self.logs = {}
        self.handles = itertools.count(1)
        self.switching = False
        self._lock = None
        self.closed = False

    def _log(self, name):
        if name not in self.logs:
            self.logs[name] = wal.Log(self.dir, name)
        return self.logs[name]

    async def get(self, name, *, reload=False):
        """The store ``name``, loaded on the device (from disk first if another was)."""
        current = self.current
        if not reload and not self.switching and current is not None and current.name == name:
            return current
        if self.closed:
            raise StoreError(HTTPStatus.SERVICE_UNAVAILABLE, "the server is shutting down")
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            current = self.current
            if not reload and current is not None and current.name == name:
                return current
            self.switching = True
            try:
                return await self._switch(name)
            finally:
                self.switching = False

    async def settled(self, name, coord=None):
        """The store ``name`` once every change a read of ``coord`` (None: of
        anything) could see is durable."""
        while True:
            store = await self.get(name)
            seq = store.unsettled(coord)
            if not seq:
                return store
            try:
                await store.log.wait(seq)
            except wal.LogError as exc:
                raise StoreError(HTTPStatus.SERVICE_UNAVAILABLE, str(exc)) from None

    async def _switch(self, name):
        loop = asyncio.get_running_loop()
        old, saved = self.current, None
        if old is not None:
            while old.checkpointing is not None:
                await asyncio.shield(old.checkpointing)
            saved = old.unload()
            self.current = None
        warn = lambda m: print(f"vtpu serve: {m}", file=sys.stderr, flush=True)  # noqa: E731
        try:
            state = await loop.run_in_executor(None, lambda: wal.read_store(self.dir, name,
                                                                             warn=warn))
            store = Store(name, self._log(name), self.vtpu, self.handles, self.dir)
            store.checkpoint_bytes = self.checkpoint_bytes
            store.load(state)
        except (OSError, ValueError, StoreError) as exc:
            if old is not None:
                old.load(saved)
                self.current = old
            if isinstance(exc, StoreError):
                raise
            raise StoreError(HTTPStatus.UNPROCESSABLE_ENTITY, f"cannot load {name}.phext: "
                                                              f"{exc}") from None
        self.current = store
        return store

    async def close(self):
        """Shutdown: checkpoint the loaded store, fold every other log into its snapshot."""
        if self.closed:
            return
        self.closed = True
        current = self.current
        if current is not None and (current.log.written or wal.segments(self.dir, current.name)):
            try:
                await current.checkpoint()
            except StoreError:
                pass
        for _ in range(500):       # the syncs still in flight finish (they are quick)
            if not any(log._syncs for log in self.logs.values()):
                break
            await asyncio.sleep(0.01)
        for log in self.logs.values():
            log.close()
        await asyncio.get_running_loop().run_in_executor(None, self.compact_all)
        self._dir_lock.close()          # the directory is free for another server

    def compact_all(self):
        names = set()
        for entry in os.listdir(self.dir):
            match = re.match(r"(.+)\.phext\.wal\.\d+\Z", entry)
            if match:
                names.add(match.group(1))
        for name in sorted(names):
            try:
                wal.compact(self.dir, name,
                            warn=lambda m: print(f"vtpu serve: {m}", file=sys.stderr, flush=True))
            except (OSError, ValueError) as exc:
                print(f"vtpu serve: cannot fold the log of {name} into {name}.phext: {exc}; "
                      f"it is kept", file=sys.stderr, flush=True)


# --- SQ's delta --------------------------------------------------------------------------------

def delta(scrolls, manifest):
    """SQ's delta sync: ``manifest`` lists what the caller holds, one
    ``<coordinate>: <checksum>`` per line (``* `` in front is allowed, so a toc
    works too). Answers a phext of every scroll whose checksum differs or that
    the caller lacks; coordinates the caller lists that are not here come back
    as ``---sq:Scroll-Missing---``. An empty manifest answers everything."""
    library = Phext()
    have = {}
    for number, line in enumerate(manifest.splitlines(), 1):
        if not line.strip():
            continue
        coordinate, sep, checksum = line.removeprefix("* ").partition(": ")
        if not sep:
            raise _bad(f"delta line {number}: expected '<coordinate>: <checksum>'")
        try:
            have[check_phext_coord(parse_coord(coordinate))] = checksum.strip()
        except CoordError as exc:
            raise _bad(f"delta line {number}: {exc}") from None
    out = [(c, t) for c, t in scrolls if have.get(c) != library.checksum(t)]
    stored = {c for c, _ in scrolls}
    out += [(c, MISSING_SCROLL) for c in have if c not in stored]
    return dump_phext(out)


# --- JSON instruction routes ------------------------------------------------------------------

_ENUMS = {(Op.CHIER, "dir"): Dir, (Op.CROUTE, "mode"): RouteMode, (Op.CATTEND, "mode"): AttendMode}
_DEFAULTS = {(Op.CHIER, "dir"): Dir.UP, (Op.CROUTE, "mode"): RouteMode.HASH,
             (Op.CATTEND, "mode"): AttendMode.DOT, (Op.CKG, "entity"): 0}
_HTTP_STATUS = {Status.OK: HTTPStatus.OK, Status.NOT_FOUND: HTTPStatus.NOT_FOUND,
                Status.TABLE_FULL: HTTPStatus.INSUFFICIENT_STORAGE,
                Status.OVERFLOW: HTTPStatus.UNPROCESSABLE_ENTITY,
                Status.BAD_ARG: HTTPStatus.BAD_REQUEST, Status.BAD_OPCODE: HTTPStatus.NOT_IMPLEMENTED,
                Status.BAD_FRAME: HTTPStatus.BAD_GATEWAY}


def _int(value, what, lo=0, hi=(1 << 64) - 1):
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{what}: expected an integer, got {json.dumps(value)[:40]}")
    if not lo <= value <= hi:
        raise _bad(f"{what}: {value} is outside {lo}..{hi}")
    return value


def _json_coord(value, what):
    if isinstance(value, str):
        return wide_coordinate(value, what)
    if isinstance(value, list) and len(value) == DIMS:
        return tuple(_int(v, f"{what} component {i + 1}", 0, 65535) for i, v in enumerate(value))
    raise _bad(f"{what}: expected text 'a.b.c/d.e.f/g.h.i' or a list of {DIMS} integers")


def _json_delta(value, what):
    if isinstance(value, str):
        parts = [p for group in value.replace(";", "/").split("/") for p in group.split(".")]
        if len(parts) != DIMS or not all(re.fullmatch(r"-?[0-9]{1,6}", p) for p in parts):
            raise _bad(f"{what}: expected {DIMS} signed integers like '0.0.1/0.0.0/0.0.-2', "
                       f"got {value[:60]!r}")
        value = [int(p) for p in parts]
    if isinstance(value, list) and len(value) == DIMS:
        return tuple(_int(v, f"{what} component {i + 1}", -32768, 32767) for i, v in enumerate(value))
    raise _bad(f"{what}: expected text like '0.0.1/0.0.0/0.0.-2' or a list of {DIMS} integers")


def _json_content(request):
    """CPUT's content: "content" (text), "value" (an integer) or "lanes" (8 int8)."""
    given = [k for k in ("content", "value", "lanes") if k in request]
    if len(given) != 1:
        raise _bad('cput needs exactly one of "content" (text), "value" (0..2**64-1) or '
                   '"lanes" (8 integers -128..127)')
    if given[0] == "content":
        if not isinstance(request["content"], str):
            raise _bad('"content" must be text (use "value" for an integer)')
        return request["content"]
    if given[0] == "value":
        return _int(request["value"], "value")
    lanes = request["lanes"]
    if not isinstance(lanes, list) or len(lanes) != 8:
        raise _bad('"lanes": expected a list of 8 integers -128..127')
    return sum((_int(x, f"lane {i}", -128, 127) & 0xFF) << (8 * i) for i, x in enumerate(lanes))


def instruction_fields(op, request):
    """The ISA fields of ``op`` from a JSON request object."""
    known = {f.name for f in PAYLOAD[op]} | {"phext"}
    known |= {"content", "lanes"} if op == Op.CPUT else set()
    unknown = sorted(set(request) - known)
    if unknown:
        raise _bad(f"{op.name.lower()} takes {', '.join(sorted(known - {'hops'} if op != Op.CKG else known))}"
                   f"; not {', '.join(map(repr, unknown))}")
    fields = {}
    for field in PAYLOAD[op]:
        name, kind = field.name, field.kind
        if name == "value" or name == "hops":
            continue
        if name not in request:
            if (op, name) in _DEFAULTS:
                fields[name] = _DEFAULTS[op, name]
                continue
            raise _bad(f"{op.name.lower()} needs {name!r}")
        value = request[name]
        if kind == "coord":
            fields[name] = _json_coord(value, name)
        elif kind == "pattern":
            if not isinstance(value, str):
                raise _bad(f"{name}: expected pattern text like '1.2.*/[3:9].5.6/7.8.9'")
            try:
                fields[name] = parse_pattern(value.replace(";", "/"))
            except CoordError as exc:
                raise _bad(str(exc)) from None
        elif kind == "delta":
            fields[name] = _json_delta(value, name)
        elif kind == "deltas":
            if not isinstance(value, list) or not value:
                raise _bad(f"{name}: expected a non-empty list of deltas")
            deltas = [_json_delta(d, f"{name}[{i}]") for i, d in enumerate(value)]
            hops = _int(request.get("hops", len(deltas)), "hops", 1, MAX_HOPS)
            fields["hops"] = hops
            fields[name] = [deltas[i % len(deltas)] for i in range(hops)]
        elif (op, name) in _ENUMS:
            enum = _ENUMS[op, name]
            if isinstance(value, str) and value.upper() in enum.__members__:
                fields[name] = enum[value.upper()]
            else:
                raise _bad(f"{name}: expected one of {', '.join(enum.__members__)}")
        else:
            fields[name] = _int(value, name)
    try:
        encode_fields([f for f in PAYLOAD[op] if f.name != "value"],
                      {**fields, "hops": fields.get("hops", 0)})
    except FrameError as exc:
        raise _bad(str(exc)) from None
    return fields


# --- HTTP --------------------------------------------------------------------------------------

_JSON = "application/json"
_TEXT = "text/plain; charset=utf-8"
_CORS = {"Access-Control-Allow-Origin": "*"}
_PREFLIGHT = {"Access-Control-Allow-Origin": "*",
              "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
              "Access-Control-Allow-Headers": "Authorization, Content-Type",
              "Access-Control-Max-Age": "86400"}
_BEARER = re.compile(r"bearer[ \t]+", re.I)


def _text(status, body):
    return web.Response(status=status, body=body.encode("utf-8"), content_type="text/plain",
                        charset="utf-8", headers=_CORS)


def _json(status, value):
    return web.Response(status=status, body=(json.dumps(value) + "\n").encode(),
                        content_type=_JSON, headers=_CORS)


class App:
    """Request handling: ``handle(request) -> Response``; never raises."""

    def __init__(self, stores, *, key=None, default_phext="world", max_body=DEFAULT_MAX_BODY,
                 timeout=DEFAULT_TIMEOUT, verbose=False):
        self.stores, self.key, self.default_phext = stores, key, default_phext
        self.max_body, self.timeout, self.verbose = max_body, timeout, verbose

    async def handle(self, request):
        path = request.raw_path.partition("?")[0]
        json_route = not path.startswith("/api/v2/")
        try:
            response = await self._handle(request)
        except StoreError as exc:
            if json_route:
                response = _json(exc.status, exc.body if exc.body is not None
                                 else {"error": str(exc)})
            else:
                response = _text(exc.status, f"error: {exc}\n")
            for name, value in exc.headers.items():
                response.headers[name] = value
            if exc.close:
                response.force_close()
        except (DeviceError, BackendError) as exc:
            # A backend that stopped answering as the protocol says: the server
            # works, the device behind it does not. (Anything else is a bug or a
            # disk error and is logged as one.)
            message = f"the device failed: {type(exc).__name__}: {exc}"
            response = (_json(HTTPStatus.BAD_GATEWAY, {"error": message}) if json_route
                        else _text(HTTPStatus.BAD_GATEWAY, f"error: {message}\n"))
        except asyncio.CancelledError:
            raise
        except Exception:               # a bug: say so, keep serving
            print(f"vtpu serve: internal error on {request.method} {path[:200]}:\n"
                  f"{traceback.format_exc()}", file=sys.stderr, flush=True)
            response = (_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})
                        if json_route else _text(HTTPStatus.INTERNAL_SERVER_ERROR,
                                                 "error: internal error\n"))
        if self.verbose:
            print(f"{request.remote} {request.method} {path[:200]} {response.status}",
                  file=sys.stderr, flush=True)
        return response

    def _authorised(self, request):
        if self.key is None:
            return True
        given = request.headers.get("Authorization", "").strip()
        match = _BEARER.match(given)
        if match:
            given = given[match.end():].strip()
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                                   self.key.encode("utf-8", "surrogateescape"))

    async def _body(self, request):
        length = request.content_length
        if length is not None and length > self.max_body:
            raise StoreError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                             f"body of {length} bytes: the limit is {self.max_body}", close=True)
        chunks, size = [], 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    chunk = await request.content.readany()
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > self.max_body:
                        raise StoreError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                         f"body over the limit of {self.max_body} bytes", close=True)
                    chunks.append(chunk)
        except TimeoutError:
            raise StoreError(HTTPStatus.REQUEST_TIMEOUT, f"the body did not arrive within "
                                                         f"{self.timeout:g} s", close=True) from None
        except (web.HTTPException, ConnectionError) as exc:
            raise StoreError(HTTPStatus.BAD_REQUEST, f"bad body: {exc}", close=True) from None
        except Exception as exc:        # aiohttp's payload errors (bad chunked encoding ...)
            if type(exc).__name__.endswith("PayloadError"):
                raise StoreError(HTTPStatus.BAD_REQUEST, f"bad body: {exc}", close=True) from None
            raise
        return b"".join(chunks)

    async def _handle(self, request):
        method = request.method
        raw_path, _, query_string = request.raw_path.partition("?")
        try:
            path = unquote(raw_path, errors="strict")
        except UnicodeDecodeError:
            raise _bad("the path is not UTF-8 after %-decoding") from None
        if method == "OPTIONS":
            return web.Response(status=HTTPStatus.NO_CONTENT, headers=_PREFLIGHT)
        if method not in ("GET", "HEAD", "POST"):
            raise StoreError(HTTPStatus.METHOD_NOT_ALLOWED, f"method {method} not allowed",
                             headers={"Allow": "GET, HEAD, POST, OPTIONS"})
        if not self._authorised(request) and path not in ("/health", "/api/v2/version"):
            raise StoreError(HTTPStatus.UNAUTHORIZED, "missing or wrong Authorization key",
                             headers={"WWW-Authenticate": "Bearer"})
        try:
            query = {k: v[-1] for k, v in parse_qs(query_string, keep_blank_values=True,
                                                   errors="strict", max_num_fields=64).items()}
        except (UnicodeDecodeError, ValueError):
            raise _bad("the query string is not UTF-8 text in at most 64 fields") from None
        if method == "POST":
            body = await self._body(request)
        else:
            if (request.content_length or 0) > self.max_body:
                raise StoreError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body over the limit",
                                 close=True)
            body = b""
        if path.startswith("/api/v2/"):
            return await self._sq(path[len("/api/v2/"):], method, query, body)
        if path.startswith("/api/v1/"):
            return await self._instruction(path[len("/api/v1/"):], method, query, body)
        return await self._prototype(path, method, body)

    # the prototype's routes

    async def _prototype(self, path, method, body):
        stores, name = self.stores, self.default_phext
        if path == "/health":
            self._method(method, "GET")
            health = stores.vtpu.health()
            return _json(HTTPStatus.OK if health["status"] == "ok" else HTTPStatus.SERVICE_UNAVAILABLE,
                         {"status": "ok"} if health["status"] == "ok" else health)
        if path.startswith("/read/"):
            self._method(method, "GET")
            coord = wide_coordinate(path[len("/read/"):])
            store = await stores.settled(name, coord)
            content = store.get(coord)
            if content is None:
                raise StoreError(HTTPStatus.NOT_FOUND, f"nothing stored at {_fmt(coord)}")
            return _json(HTTPStatus.OK, {"coordinate": _fmt(coord), **_content_field(content)})
        if path == "/write":
            self._method(method, "POST")
            try:
                request = json.loads(decode_text(body))
                coordinate, content = request["coordinate"], request["content"]
            except (ValueError, TypeError, KeyError, RecursionError):
                raise _bad('body must be JSON {"coordinate": "...", "content": "..."}') from None
            if not isinstance(coordinate, str) or not isinstance(content, str):
                raise _bad("coordinate and content must be strings")
            coord = wide_coordinate(coordinate)
            check_content(content)
            store = await stores.get(name)
            seq = store.put(coord, content) if content else store.delete(coord)
            await self._durable(store, seq)
            return _json(HTTPStatus.OK, {"status": "ok", "coordinate": _fmt(coord)})
        if path.startswith("/range/"):
            self._method(method, "GET")
            try:
                pattern = parse_pattern(path[len("/range/"):].replace(";", "/"))
            except CoordError as exc:
                raise _bad(str(exc)) from None
            store = await stores.settled(name)
            return _json(HTTPStatus.OK, {"scrolls": [
                {"coordinate": _fmt(c), **_content_field(t)} for c, t in store.items(pattern)]})
        raise StoreError(HTTPStatus.NOT_FOUND, f"no route {method} {path[:200]}")

    @staticmethod
    def _method(method, *allowed):
        if method == "HEAD" and "GET" in allowed:
            return
        if method not in allowed:
            raise StoreError(HTTPStatus.METHOD_NOT_ALLOWED, f"method {method} not allowed here",
                             headers={"Allow": ", ".join(allowed + ("OPTIONS",))})

    @staticmethod
    async def _durable(store, seq):
        if seq:
            try:
                await store.log.wait(seq)
            except wal.LogError as exc:
                raise StoreError(HTTPStatus.SERVICE_UNAVAILABLE, f"{exc}; the change may not "
                                                                 f"have been stored") from None

    # SQ

    async def _sq(self, command, method, query, body):
        """SQ's commands, with SQ's answers (plain text; json-export is JSON)."""
        stores = self.stores
        if command == "version":
            return _text(HTTPStatus.OK, VERSION)
        # As in SQ: a POST body, taken raw, is the scroll.
        scroll = decode_text(body) if body else query.get("s", "")
        if command == "where":
            self._method(method, "POST")
            return _text(HTTPStatus.OK, where(scroll, query.get("algo", ""),
                                              _sq_limit(query.get("limit", ""))))
        if command not in _SQ_COMMANDS:
            raise StoreError(HTTPStatus.NOT_FOUND, f"unknown SQ command {command[:100]!r}")
        name = check_name(query.get("p", ""))
        if method == "HEAD" and command in ("load", "insert", "update", "delete", "save"):
            # SQ writes with GET; a HEAD (a link checker, a prefetch) must not
            raise StoreError(HTTPStatus.METHOD_NOT_ALLOWED, f"{command} changes the store: "
                             "use GET or POST", headers={"Allow": "GET, POST, OPTIONS"})
        if command == "load":
            await stores.get(name, reload=True)
            return _text(HTTPStatus.OK, f"Loaded {name}.phext")
        if command in ("select", "insert", "update", "delete"):
            coord = sq_coordinate(query.get("c", ""))
        if command == "select":
            store = await stores.settled(name, coord)
            content = store.get(coord)
            return _text(HTTPStatus.OK, "" if content is None else str(content))
        if command in ("insert", "update"):
            check_content(scroll)
            store = await stores.get(name)
            if command == "insert":
                old = store.get(coord)
                if isinstance(old, int):
                    raise StoreError(HTTPStatus.CONFLICT, f"{_fmt(coord)} holds an integer value: "
                                                          f"text cannot be appended to it")
                text = (old or "") + scroll
            else:
                text = scroll
            seq = store.put(coord, text) if text else store.delete(coord)
            await self._durable(store, seq)
            verb = "Inserted" if command == "insert" else "Updated"
            return _text(HTTPStatus.OK, f"{verb} {len(scroll.encode())} bytes")
        if command == "delete":
            store = await stores.get(name)
            old = store.get(coord)
            await self._durable(store, store.delete(coord))
            return _text(HTTPStatus.OK, f"Removed {len(str(old or '').encode())} bytes")
        if command == "save":
            store = await stores.get(name)
            await store.checkpoint()
            return _text(HTTPStatus.OK, f"Saved {name}.phext")
        store = await stores.settled(name)
        if command == "toc":
            return _text(HTTPStatus.OK, Phext().textmap(store.phext_text()))
        if command == "checksum":
            return _text(HTTPStatus.OK, Phext().checksum(store.phext_text()))
        if command == "delta":
            return _text(HTTPStatus.OK, delta(store.phext_scrolls(), scroll))
        if command == "get":
            return _text(HTTPStatus.OK, store.phext_text())
        if command == "json-export":
            return _json(HTTPStatus.OK, [{"coord": _fmt(c), "scroll": t}
                                         for c, t in store.phext_scrolls()])
        # status
        return _text(HTTPStatus.OK, f"Hosting: {name}.phext\nBackend: {stores.vtpu.name}\n"
                                    f"Phext Size: {len(store.phext_text().encode())}\n"
                                    f"Scrolls: {len(store.mirror)}")

    # the instructions

    async def _instruction(self, name, method, query, body):
        try:
            op = Op[name.upper()]
        except KeyError:
            raise StoreError(HTTPStatus.NOT_FOUND, f"no instruction {name[:40]!r}; the "
                                                   f"instructions are " + ", ".join(
                                                       o.name.lower() for o in Op)) from None
        self._method(method, "POST")
        try:
            request = json.loads(decode_text(body)) if body else {}
        except (ValueError, RecursionError):
            raise _bad("body must be a JSON object") from None
        if not isinstance(request, dict):
            raise _bad("body must be a JSON object")
        phext = request.get("phext", query.get("p", self.default_phext))
        if not isinstance(phext, str):
            raise _bad('"phext" must be text')
        phext = check_name(phext)
        fields = instruction_fields(op, request)
        stores = self.stores
        if op == Op.CPUT:
            content = _json_content(request)
            store = await stores.get(phext)
            await self._durable(store, store.put(fields["coord"], content))
            return _json(HTTPStatus.OK, {"status": "OK"})
        if op == Op.CDEL:
            store = await stores.get(phext)
            seq = store.delete(fields["coord"])
            if seq is None:
                return _json(HTTPStatus.NOT_FOUND, {"status": "NOT_FOUND"})
            await self._durable(store, seq)
            return _json(HTTPStatus.OK, {"status": "OK"})
        point = fields.get("coord") if op == Op.CGET else None
        store = await stores.settled(phext, point)
        result = store.device.run(op, **fields)
        answer = {"status": result.status.name}
        for key, value in result.fields.items():
            answer[key] = _show(store, key, value, fields.get("coord"))
        if op in (Op.CRANGE, Op.CNEAREST, Op.CATTEND, Op.CKG) or (op == Op.CHIER
                                                                   and fields["dir"] == Dir.DOWN):
            answer["records"] = [{k: _show(store, k, v, rec.get("coord")) for k, v in rec.items()}
                                 for rec in result.records]
        answer = _merge_values(answer)
        return _json(_HTTP_STATUS.get(result.status, HTTPStatus.BAD_GATEWAY), answer)


_SQ_COMMANDS = {"load", "select", "insert", "update", "delete", "toc", "checksum", "delta", "get",
                "json-export", "status", "save"}


def _content_field(content):
    return {"content": content} if isinstance(content, str) else {"value": content}


class _Value:
    """A stored value shown as the content it stands for."""

    def __init__(self, content):
        self.content = content


def _show(store, key, value, coord):
    if key in ("coord",):
        return _fmt(value)
    if key == "pattern":
        from .coord import format_pattern
        return format_pattern(value)
    if key == "value" and coord is not None:
        entry = store.mirror.get(coord)
        if entry is not None and entry[0] == value:
            return _Value(entry[1])
    return value


def _merge_values(obj):
    """Replace {"value": _Value(c)} by {"content": c} or {"value": c}, recursively."""
    if isinstance(obj, list):
        return [_merge_values(x) for x in obj]
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if isinstance(v, _Value):
                out.update(_content_field(v.content))
            else:
                out[k] = _merge_values(v)
        return out
    return obj


# --- The server ----------------------------------------------------------------------------------

class _ClientErrors(logging.Filter):
    """aiohttp logs every request it refuses (a malformed request line, a bad
    Content-Length ...) with a traceback; those are the client's errors, answered
    400 already: not logged. Anything else still is."""

    def filter(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, (HttpProcessingError, ConnectionError))


_HTTP_LOG = logging.getLogger("vtpu.serve.http")
_HTTP_LOG.addFilter(_ClientErrors())


class _Server(_AioServer):
    """aiohttp's low-level server with a cap on connections."""

    def __init__(self, handler, *, max_connections, **kwargs):
        super().__init__(handler, **kwargs)
        self.max_connections = max_connections

    def connection_made(self, handler, transport):
        super().connection_made(handler, transport)
        if len(self._connections) > self.max_connections:
            # As if the client had hung up, once aiohttp's handler has started.
            self._loop.call_soon(transport.close)


class VTPUServer:
    """``serve_forever()`` in one thread; ``shutdown()`` from another; then ``server_close()``."""

    def __init__(self, sock, stores, app, *, timeout, max_connections):
        self.socket, self.store, self.app = sock, stores, app
        self.server_address = sock.getsockname()
        self.timeout, self.max_connections = timeout, max_connections
        self._loop = None
        self._stop = None
        self._stop_requested = False
        self._running = threading.Event()
        self._finished = threading.Event()

    def serve_forever(self, *, handle_signals=False):
        if self._stop_requested:
            return
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(handle_signals))
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                self._loop = None
                self._finished.set()

    async def _serve(self, handle_signals):
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._stop.set)
        server = _Server(self.app.handle, max_connections=self.max_connections,
                         access_log=None, logger=_HTTP_LOG, keepalive_timeout=self.timeout, lingering_time=1.0,
                         max_line_size=8190, max_field_size=8190, max_headers=100)
        try:
            listener = await loop.create_server(server, sock=self.socket, backlog=1024)
        except OSError:
            if not self._stop_requested:
                raise
            # stopped (and the socket closed) before it began serving
            await self.store.close()
            return
        self._running.set()
        if self._stop_requested:
            self._stop.set()
        try:
            await self._stop.wait()
        finally:
            listener.close()
            await server.shutdown(timeout=5.0)
            await self.store.close()

    def shutdown(self):
        """Stop serving (from another thread): the loaded store is checkpointed."""
        self._stop_requested = True
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:        # the loop has already closed
                pass
        if loop is not None or self._running.is_set():
            self._finished.wait()

    def server_close(self):
        try:
            self.socket.close()
        except OSError:
            pass
        if not self.store.closed and self._loop is None:
            asyncio.run(self.store.close())
        self.store.vtpu.close()


def make_server(host="127.0.0.1", port=1337, *, backend="model", data=".", key=None,
                phext="world", verbose=False, entries=None, max_body=DEFAULT_MAX_BODY,
                timeout=DEFAULT_TIMEOUT, checkpoint_bytes=DEFAULT_CHECKPOINT_BYTES,
                max_connections=1024, **options):
    """Listen first: a busy port fails before a backend starts or the data directory is made.

    ``entries``: the keys the vTPU holds (the model's default ``DEFAULT_ENTRIES``);
    the RTL backends' set-associative tables also take ``sets``/``ways``."""
    check_name(phext)
    if "serial_port" in options:                # the serial backend's device
        options["port"] = options.pop("serial_port")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    device = None
    try:
        if entries is not None:
            options["entries"] = entries
        elif backend == "model" and options.get("sets") is None and options.get("ways") is None:
            options["entries"] = DEFAULT_ENTRIES
        device = Device(open_backend(backend, **options))
        try:
            stores = Stores(device, data, checkpoint_bytes=checkpoint_bytes)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot use the data directory {data}: "
                                     f"{exc.strerror}") from None
    except BaseException:
        if device is not None:
            device.close()
        sock.close()
        raise
    app = App(stores, key=key, default_phext=check_name(phext), max_body=max_body,
              timeout=timeout, verbose=verbose)
    return VTPUServer(sock, stores, app, timeout=timeout, max_connections=max_connections)


def serve(**kwargs):
    server = make_server(**kwargs)
    host, port = server.server_address[:2]
    print(f"vtpu serve: http://{host}:{port}/ backend {server.store.vtpu.name} "
          f"({server.store.vtpu.capacity:,} entries), data in {server.store.dir.resolve()}",
          flush=True)
    try:
        server.serve_forever(handle_signals=True)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
