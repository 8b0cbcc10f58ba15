"""Durability for ``vtpu serve``: snapshot files plus an append-only log.

A *store* (what SQ calls a phext) named ``n`` lives in the data directory as

* ``n.phext``        the snapshot of every text scroll whose coordinate is in the
                     phext range 1..999: a plain phext file, written by the
                     ``phext`` library (``vtpu.phextio``);
* ``n.phext.vtpu``   the snapshot of what a phext cannot hold (a component 0 or
                     above 999, or an integer value): JSON lines
                     ``{"coord": "...", "content": "..."}`` or ``{"coord": "...",
                     "value": N}``, sorted; absent when there is nothing such;
* ``n.phext.wal.G``  log segments, G = 1, 2, ...: every change since the
                     snapshot, in order, one record per change.

A record is ``<u32 length><u32 crc32>`` (little-endian) then ``length`` bytes:
a kind byte (1 text, 2 integer, 3 delete), the coordinate as nine little-endian
u16, and the content (UTF-8 text, or a u64). Records carry the whole new state
of one coordinate, so replaying a record twice changes nothing: any snapshot
written at or after a segment's start, plus that segment and every later one,
gives the store's state.

``Log`` appends records and makes them durable by group commit: a writer
awaits ``wait(seq)``; a sync (``fdatasync`` in a worker thread) started after
record ``seq`` was written covers every record written before it, so one sync
acknowledges every writer waiting at that moment, and up to ``MAX_SYNCS`` syncs
run at once (a new writer does not wait for a sync that started before it
wrote). A checkpoint writes the snapshot files (temporary file, fsync, rename,
fsync of the directory) from the store's state at a rotation of the log and
then deletes the segments sealed by that rotation.

On recovery a segment is read up to its first record that is short or fails
its CRC: the tail a crash tore. No acknowledged record is ever behind it,
because an acknowledgement waits for a sync that covers every earlier record.
"""

import asyncio
import errno
import json
import os
import re
import struct
import sys
import tempfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .coord import format_coord, parse_coord
from .phextio import PHEXT_MAX, PHEXT_MIN, dump_phext, load_phext

__all__ = ["TEXT", "INT", "DELETE", "LogError", "Log", "encode_record", "decode_records",
           "phext_path", "sidecar_path", "segments", "read_snapshot", "read_store",
           "write_snapshot", "compact", "in_phext", "atomic_write"]

TEXT, INT, DELETE = 1, 2, 3
_HEADER = struct.Struct("<II")
_BODY = struct.Struct("<B9H")
_U64 = struct.Struct("<Q")
MAX_SYNCS = 4                      # fdatasyncs in flight at once, per log


class LogError(OSError):
    """The log could not take a record, or a sync failed."""


def phext_path(directory, name):
    return Path(directory) / f"{name}.phext"


def sidecar_path(directory, name):
    return Path(directory) / f"{name}.phext.vtpu"


def segments(directory, name):
    """[(generation, path)] of ``name``'s log segments, oldest first."""
    pattern = re.compile(re.escape(f"{name}.phext.wal.") + r"(\d+)\Z")
    found = []
    try:
        entries = os.listdir(directory)
    except FileNotFoundError:
        return []
    for entry in entries:
        match = pattern.match(entry)
        if match:
            found.append((int(match.group(1)), Path(directory) / entry))
    return sorted(found)


def in_phext(coord, content):
    """Whether a (coordinate, content) pair goes into the ``.phext`` snapshot. An
    empty text does not: a phext reader skips empty scrolls, so it would be lost;
    it goes to the side file with what a phext cannot hold."""
    return (isinstance(content, str) and content != ""
            and all(PHEXT_MIN <= c <= PHEXT_MAX for c in coord))


# --- Records ---------------------------------------------------------------------------

def encode_record(kind, coord, content=None):
    body = _BODY.pack(kind, *coord)
    if kind == TEXT:
        body += content.encode("utf-8")
    elif kind == INT:
        body += _U64.pack(content)
    return _HEADER.pack(len(body), zlib.crc32(body)) + body


def decode_records(data):
    """``(records, good)``: the records of ``data`` in order, each ``(kind, coord,
    content)``, and how many bytes they span; reading stops at the first record
    that is short or fails its CRC."""
    records, offset, end = [], 0, len(data)
    while offset + _HEADER.size <= end:
        length, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        if length < _BODY.size or start + length > end:
            break
        body = bytes(data[start:start + length])
        if zlib.crc32(body) != crc:
            break
        kind, *coord = _BODY.unpack_from(body)
        rest = body[_BODY.size:]
        try:
            if kind == TEXT:
                content = rest.decode("utf-8")
            elif kind == INT and len(rest) == _U64.size:
                content = _U64.unpack(rest)[0]
            elif kind == DELETE and not rest:
                content = None
            else:
                break
        except UnicodeDecodeError:
            break
        records.append((kind, tuple(coord), content))
        offset = start + length
    return records, offset


def apply(state, records):
    for kind, coord, content in records:
        if kind == DELETE:
            state.pop(coord, None)
        else:
            state[coord] = content


# --- Snapshots -------------------------------------------------------------------------

def read_snapshot(directory, name):
    """{coordinate: content} of the snapshot files (both absent: empty)."""
    state = {}
    path = phext_path(directory, name)
    if path.exists():
        from .phextio import decode_utf8
        state.update(load_phext(decode_utf8(path.read_bytes(), path.name)))
    side = sidecar_path(directory, name)
    if side.exists():
        for number, line in enumerate(side.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                coord = parse_coord(item["coord"])
                content = item["content"] if "content" in item else int(item["value"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{side.name} line {number}: {exc}") from None
            state[coord] = content
    return state


def read_store(directory, name, *, warn=None):
    """{coordinate: content} of store ``name``: its snapshot and every log segment."""
    state = read_snapshot(directory, name)
    for generation, path in segments(directory, name):
        data = path.read_bytes()
        records, good = decode_records(data)
        if good != len(data) and warn is not None:
            warn(f"{path.name}: {len(data) - good} bytes after record {len(records)} are a "
                 f"torn or corrupt tail; ignored")
        apply(state, records)
    return state


def atomic_write(path, data):
    """Replace ``path`` with ``data`` (bytes) so that a crash leaves the old or the new file."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def fsync_directory(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_snapshot(directory, name, items):
    """Write the snapshot files of ``items`` ((coordinate, content) pairs); return
    the bytes written. Each file is replaced atomically; the directory is synced."""
    phext, side = [], []
    for coord, content in items:
        (phext if in_phext(coord, content) else side).append((coord, content))
    text = dump_phext(phext).encode("utf-8")
    path = phext_path(directory, name)
    if phext or path.exists():
        atomic_write(path, text)
    side_file = sidecar_path(directory, name)
    lines = b""
    if side:
        side.sort()
        lines = "".join(json.dumps({"coord": format_coord(c), "content": v} if isinstance(v, str)
                                   else {"coord": format_coord(c), "value": v}) + "\n"
                        for c, v in side).encode("utf-8")
        atomic_write(side_file, lines)
    elif side_file.exists():
        side_file.unlink()
    fsync_directory(directory)
    return len(text) + len(lines)


def compact(directory, name, *, warn=None):
    """Fold ``name``'s log into its snapshot (offline: no server may be using it)."""
    found = segments(directory, name)
    if not found:
        return False
    write_snapshot(directory, name, read_store(directory, name, warn=warn).items())
    for _, path in found:
        path.unlink()
    fsync_directory(directory)
    return True


# --- The log ------------------------------------------------------------------------------

class _Segment:
    def __init__(self, generation, path, fd):
        self.generation, self.path, self.fd = generation, path, fd
        self.size = 0
        self.syncs = 0             # fdatasyncs in flight on fd
        self.sealed = False
        self.dir_synced = False    # its directory entry is durable

    def close_if_done(self):
        if self.sealed and self.syncs == 0 and self.fd is not None:
            os.close(self.fd)
            self.fd = None


class _Sync:
    __slots__ = ("target", "done")

    def __init__(self, target):
        self.target, self.done = target, False


_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=2 * MAX_SYNCS, thread_name_prefix="vtpu-sync")
    return _POOL


class Log:
    """The append-only log of one store. Used from one asyncio event loop."""

    def __init__(self, directory, name):
        self.dir, self.name = Path(directory), name
        self.written = 0           # sequence number of the last record appended
        self.durable = 0           # every record up to this one is on disk
        self.broken = None         # the OSError that stopped the log, if any
        self.segment = None        # where records go now (made on the first append)
        self.sealed = []           # segments rotated out, not yet deleted
        self.bytes = sum(p.stat().st_size for _, p in segments(directory, name))
        self._syncs = []           # in flight, in order of start
        self._waiters = {}         # seq -> [futures]

    # appending

    def _open_segment(self):
        found = segments(self.dir, self.name)
        last = max([g for g, _ in found] + [s.generation for s in self.sealed] + [0])
        generation = last + 1
        path = self.dir / f"{self.name}.phext.wal.{generation}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o666)
        self.segment = _Segment(generation, path, fd)

    def append(self, kind, coord, content=None):
        """Write one record (not yet durable); return its sequence number."""
        if self.broken is not None:
            raise LogError(self.broken.errno, f"the log of {self.name} failed earlier "
                                              f"({self.broken.strerror}); restart the server")
        data = encode_record(kind, coord, content)
        try:
            if self.segment is None:
                self._open_segment()
            seg = self.segment
            view, done = memoryview(data), 0
            try:
                while done < len(data):
                    done += os.write(seg.fd, view[done:])
            except OSError:
                if done:               # never leave a torn record in front of later ones
                    try:
                        os.ftruncate(seg.fd, seg.size)
                    except OSError as exc:
                        self.broken = exc
                raise
        except OSError as exc:
            raise LogError(exc.errno, f"cannot write the log of {self.name}: "
                                      f"{exc.strerror}") from None
        seg.size += len(data)
        self.bytes += len(data)
        self.written += 1
        return self.written

    # durability

    async def wait(self, seq):
        """Return once record ``seq`` is durable; ``LogError`` if a sync failed."""
        while seq > self.durable:
            if self.broken is not None:
                raise LogError(self.broken.errno, f"the log of {self.name} could not be synced "
                                                  f"({self.broken.strerror}); restart the server")
            future = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(seq, []).append(future)
            self._kick()
            await future

    def _covered(self):
        return self._syncs[-1].target if self._syncs else self.durable

    def _kick(self):
        # Records past the current segment's start are all in it (rotate syncs the rest).
        if (self._waiters and len(self._syncs) < MAX_SYNCS and self.written > self._covered()
                and self.segment is not None):
            self._start_sync()

    def _start_sync(self):
        sync = _Sync(self.written)
        self._syncs.append(sync)
        seg = self.segment
        seg.syncs += 1
        loop = asyncio.get_running_loop()
        loop.run_in_executor(_pool(), self._sync_segment, seg, self.dir).add_done_callback(
            lambda f: self._synced(sync, seg, f))

    @staticmethod
    def _sync_segment(seg, directory):
        os.fdatasync(seg.fd)
        if not seg.dir_synced:
            fsync_directory(directory)
            seg.dir_synced = True

    def _synced(self, sync, seg, future):
        sync.done = True
        seg.syncs -= 1
        seg.close_if_done()
        exc = OSError(errno.ECANCELED, "sync cancelled") if future.cancelled() else future.exception()
        if exc is not None:
            self.broken = exc if isinstance(exc, OSError) else OSError(0, str(exc))
        while self._syncs and self._syncs[0].done:
            done = self._syncs.pop(0)
            if self.broken is None:            # after a failed sync nothing is durable again
                self.durable = max(self.durable, done.target)
        for seq in [s for s in self._waiters if s <= self.durable or self.broken is not None]:
            for waiter in self._waiters.pop(seq):
                if not waiter.done():
                    waiter.set_result(None)
        self._kick()

    # checkpoints

    def rotate(self):
        """Seal the current segment: later records go to a new one. Returns the
        sealed segments' paths (for ``unlink`` and ``forget`` once a snapshot covers them)."""
        if self.segment is not None:
            if self.written > self._covered():
                self._start_sync()     # its records are acknowledged by its own sync
            self.segment.sealed = True
            self.sealed.append(self.segment)
            self.segment = None
        # Segments left by an earlier run are covered by the same snapshot.
        return [p for _, p in segments(self.dir, self.name)]

    @staticmethod
    def unlink(directory, paths):
        """Delete segments a snapshot covers (safe in a worker thread: files only)."""
        for path in paths:
            Path(path).unlink(missing_ok=True)
        fsync_directory(directory)

    def forget(self, paths):
        """After ``unlink``, in the log's own thread: close the deleted segments."""
        gone = {Path(p) for p in paths}
        for seg in [s for s in self.sealed if s.path in gone]:
            self.sealed.remove(seg)
            seg.close_if_done()
        self.bytes = sum(p.stat().st_size for _, p in segments(self.dir, self.name))

    def close(self):
        for seg in self.sealed + ([self.segment] if self.segment else []):
            seg.sealed = True
            if seg.fd is not None and seg.syncs == 0:
                os.close(seg.fd)
                seg.fd = None
        self.segment = None


def main(argv=None):
    """``python -m vtpu.wal DIR NAME``: fold a stopped server's log into its snapshot."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m vtpu.wal DATA_DIR NAME", file=sys.stderr)
        return 2
    done = compact(args[0], args[1], warn=lambda m: print(f"vtpu.wal: {m}", file=sys.stderr))
    print(f"{args[1]}: {'log folded into the snapshot' if done else 'no log'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
