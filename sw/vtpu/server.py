"""``vtpu serve``: the vTPU over HTTP.

Two sets of routes over one store of scrolls:

* the phext ecosystem's SQ REST API, ``/api/v2/<command>`` with query
  parameters ``p`` (phext name), ``c`` (coordinate) and ``s`` (scroll; a POST
  body is taken raw instead), answering plain text;
* the original prototype's JSON routes: ``GET /health``, ``GET /read/{coord}``,
  ``POST /write`` (``{"coordinate", "content"}``), ``GET /range/{pattern}``;
  they work on the phext named by ``--phext`` (default ``world``).

Like SQ, the server has one phext loaded on the device at a time: a request
for another name loads that one (``<name>.phext`` in the data directory)
first. The device stores each scroll's heap handle at the scroll's
coordinate; the texts live in the client's host-side heap. Every change is
written to ``<name>.phext`` before it is acknowledged, by writing a temporary
file, syncing it and renaming it over the old one, so killing the server at
any moment leaves either the old or the new file, never a torn one.
"""

import json
import os
import tempfile
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .client import VTPU, NotFound, TableFull, Unsupported, VTPUError
from .coord import CoordError, in_box, morton, parse_coord, parse_pattern
from .phextio import check_phext_coord, dump_phext, load_phext
from phext.phext import Phext

__all__ = ["Store", "StoreError", "make_server", "serve", "VERSION"]

VERSION = "0.1.0"   # of the vtpu package; SQ answers its own crate version


class StoreError(Exception):
    """A request the store refuses: carries the HTTP status to answer."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _bad(message):
    return StoreError(HTTPStatus.BAD_REQUEST, message)


def check_name(name):
    """A phext name: a plain file stem, never a path."""
    if not name:
        raise _bad("missing phext name (parameter p)")
    if ".." in name or "/" in name or "\\" in name or "\0" in name:
        raise StoreError(HTTPStatus.FORBIDDEN, f"phext name {name!r} refused: it may not contain '..', '/' or '\\'")
    return name[:-len(".phext")] if name.endswith(".phext") else name


def atomic_write(path, text):
    """Replace ``path`` with ``text`` so that a crash leaves the old or the new file."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file 0600; give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)          # make the rename itself durable
    finally:
        os.close(directory)


class Store:
    """The phexts of a data directory, one at a time on a vTPU."""

    def __init__(self, vtpu, directory):
        self.vtpu = vtpu
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = None
        self.coords = set()          # what the loaded phext holds (the device has the values)
        self.lock = threading.RLock()

    def path(self, name):
        return self.dir / f"{check_name(name)}.phext"

    def coordinate(self, text):
        if not text:
            raise _bad("missing coordinate (parameter c)")
        try:
            return check_phext_coord(parse_coord(text))
        except CoordError as exc:
            raise _bad(str(exc)) from None

    # --- loading and saving -----------------------------------------------------

    def use(self, name):
        name = check_name(name)
        if name != self.name:
            self.load(name)

    def load(self, name):
        """Put ``<name>.phext`` on the device (an absent file is an empty phext)."""
        name = check_name(name)
        path = self.path(name)
        try:
            pairs = load_phext(path.read_bytes().decode("utf-8")) if path.exists() else []
        except (OSError, UnicodeDecodeError, CoordError) as exc:
            raise StoreError(HTTPStatus.UNPROCESSABLE_ENTITY, f"cannot load {path.name}: {exc}")
        self._clear()
        self.name = None             # until the whole file is on the device
        try:
            with self.vtpu.batch() as b:
                puts = [(coord, b.cput(coord, scroll)) for coord, scroll in pairs]
            for coord, put in puts:
                put.result()
                self.coords.add(coord)
        except TableFull:
            self._clear()
            raise StoreError(HTTPStatus.INSUFFICIENT_STORAGE,
                             f"{path.name} has {len(pairs)} scrolls: more than this vTPU's table "
                             f"holds ({self.vtpu.backend.capacity} entries, and no set may "
                             f"overflow); nothing loaded")
        self.name = name
        return len(pairs)

    def _clear(self):
        with self.vtpu.batch() as b:
            for coord in self.coords:
                b.cdel(coord)
        self.coords.clear()

    def scrolls(self):
        """[(coordinate, text)] of the loaded phext, read back from the device."""
        coords = sorted(self.coords)
        with self.vtpu.batch() as b:
            reads = [b.cget(c) for c in coords]
        return [(c, str(r.result())) for c, r in zip(coords, reads)]

    def text(self):
        return dump_phext(self.scrolls())

    def save(self):
        atomic_write(self.path(self.name), self.text())

    # --- scrolls ------------------------------------------------------------------

    def select(self, coord):
        try:
            return str(self.vtpu.cget(coord))
        except NotFound:
            return ""

    def write(self, coord, scroll):
        """Store (or, for an empty scroll, clear) one scroll and save; undo on failure."""
        old = self.select(coord) if coord in self.coords else None
        try:
            if scroll:
                self.vtpu.cput(coord, scroll)
                self.coords.add(coord)
            elif old is not None:
                self.vtpu.cdel(coord)
                self.coords.discard(coord)
        except TableFull:
            raise StoreError(HTTPStatus.INSUFFICIENT_STORAGE,
                             f"table full: the set that holds {_fmt(coord)} has no free way; "
                             f"nothing stored, nothing evicted")
        try:
            self.save()
        except OSError as exc:
            # Not on disk: not acknowledged, and not kept on the device either.
            if old is None:
                if scroll:
                    self.vtpu.cdel(coord)
                self.coords.discard(coord)
            else:
                self.vtpu.cput(coord, old)
                self.coords.add(coord)
            raise StoreError(HTTPStatus.INTERNAL_SERVER_ERROR, f"cannot save {self.name}: {exc}")

    def range(self, pattern):
        """[(coordinate, text)] inside the pattern, ascending Z-order.

        On a core that carries CRANGE this is one CRANGE; a core without it
        (the RTL builds so far) gets the coordinates from the store's index and
        every value from the device in one batch of CGETs.
        """
        try:
            return [(self.vtpu.coord(c), str(v)) for c, v in self.vtpu.crange(pattern)]
        except Unsupported:
            inside = sorted((c for c in self.coords if in_box(c, pattern.lo, pattern.hi)),
                            key=morton)
            with self.vtpu.batch() as b:
                reads = [b.cget(c) for c in inside]
            return [(c, str(r.result())) for c, r in zip(inside, reads)]


def _fmt(coord):
    return f"{coord[0]}.{coord[1]}.{coord[2]}/{coord[3]}.{coord[4]}.{coord[5]}/" \
           f"{coord[6]}.{coord[7]}.{coord[8]}"


class Handler(BaseHTTPRequestHandler):
    server_version = "vtpu-serve/0.1"
    protocol_version = "HTTP/1.1"

    # --- plumbing -------------------------------------------------------------------

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status, body, content_type="text/plain; charset=utf-8"):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status, value):
        self._send(status, json.dumps(value) + "\n", "application/json")

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _authorised(self):
        key = self.server.key
        if key is None:
            return True
        given = self.headers.get("Authorization", "")
        return given in (key, f"Bearer {key}")

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = self._body() if method == "POST" else b""
        json_route = not url.path.startswith("/api/")
        try:
            if not self._authorised() and url.path not in ("/health", "/api/v2/version"):
                raise StoreError(HTTPStatus.UNAUTHORIZED, "missing or wrong Authorization key")
            with self.server.store.lock:
                self._route(method, url.path, query, body)
        except StoreError as exc:
            if json_route:
                self._json(exc.status, {"error": str(exc)})
            else:
                self._send(exc.status, f"error: {exc}\n")
        except VTPUError as exc:
            status = HTTPStatus.NOT_IMPLEMENTED if isinstance(exc, Unsupported) else HTTPStatus.BAD_GATEWAY
            (self._json(status, {"error": str(exc)}) if json_route
             else self._send(status, f"error: {exc}\n"))

    # --- routes ---------------------------------------------------------------------

    def _route(self, method, path, query, body):
        store = self.server.store
        if path == "/health" and method == "GET":
            health = store.vtpu.health()
            return self._json(HTTPStatus.OK if health["status"] == "ok"
                              else HTTPStatus.SERVICE_UNAVAILABLE,
                              {"status": "ok"} if health["status"] == "ok" else health)
        if path.startswith("/read/") and method == "GET":
            store.use(self.server.default_phext)
            coord = store.coordinate(unquote(path[len("/read/"):]))
            if coord not in store.coords:
                raise StoreError(HTTPStatus.NOT_FOUND, f"nothing stored at {_fmt(coord)}")
            return self._json(HTTPStatus.OK, {"coordinate": _fmt(coord),
                                              "content": store.select(coord)})
        if path == "/write" and method == "POST":
            try:
                request = json.loads(body or b"null")
                coordinate, content = request["coordinate"], request["content"]
            except (ValueError, TypeError, KeyError):
                raise _bad('body must be JSON {"coordinate": "...", "content": "..."}') from None
            if not isinstance(coordinate, str) or not isinstance(content, str):
                raise _bad("coordinate and content must be strings")
            store.use(self.server.default_phext)
            coord = store.coordinate(coordinate)
            store.write(coord, content)
            return self._json(HTTPStatus.OK, {"status": "ok", "coordinate": _fmt(coord)})
        if path.startswith("/range/") and method == "GET":
            store.use(self.server.default_phext)
            try:
                pattern = parse_pattern(unquote(path[len("/range/"):]))
            except CoordError as exc:
                raise _bad(str(exc)) from None
            return self._json(HTTPStatus.OK, {"scrolls": [
                {"coordinate": _fmt(c), "content": t} for c, t in store.range(pattern)]})
        if path.startswith("/api/v2/"):
            return self._sq(path[len("/api/v2/"):], query, body)
        raise StoreError(HTTPStatus.NOT_FOUND, f"no route {method} {path}")

    def _sq(self, command, query, body):
        """SQ's commands, with SQ's answers (plain text; json-export is JSON)."""
        store = self.server.store
        if command == "version":
            return self._send(HTTPStatus.OK, VERSION)
        name = check_name(query.get("p", ""))
        if command == "load":
            store.load(name)
            return self._send(HTTPStatus.OK, f"Loaded {name}.phext")
        store.use(name)
        # As in SQ: a POST body, taken raw, is the scroll; a missing c is 1.1.1/1.1.1/1.1.1.
        scroll = body.decode("utf-8", errors="replace") if body else query.get("s", "")
        coordinate = query.get("c") or DEFAULT_COORDINATE
        if command == "select":
            return self._send(HTTPStatus.OK, store.select(store.coordinate(coordinate)))
        if command in ("insert", "update"):
            coord = store.coordinate(coordinate)
            text = store.select(coord) + scroll if command == "insert" else scroll
            store.write(coord, text)
            verb = "Inserted" if command == "insert" else "Updated"
            return self._send(HTTPStatus.OK, f"{verb} {len(scroll.encode())} bytes")
        if command == "delete":
            coord = store.coordinate(coordinate)
            old = store.select(coord)
            store.write(coord, "")
            return self._send(HTTPStatus.OK, f"Removed {len(old.encode())} bytes")
        if command == "toc":
            return self._send(HTTPStatus.OK, Phext().textmap(store.text()))
        if command == "checksum":
            return self._send(HTTPStatus.OK, Phext().checksum(store.text()))
        if command == "delta":
            return self._send(HTTPStatus.OK, delta(store.scrolls(), scroll))
        if command == "get":
            return self._send(HTTPStatus.OK, store.text())
        if command == "json-export":
            return self._json(HTTPStatus.OK, [{"coord": _fmt(c), "scroll": t}
                                              for c, t in store.scrolls()])
        if command == "status":
            text = store.text()
            return self._send(HTTPStatus.OK, f"Hosting: {name}.phext\nBackend: "
                                             f"{store.vtpu.backend.name}\nPhext Size: "
                                             f"{len(text.encode())}\nScrolls: {len(store.coords)}")
        raise StoreError(HTTPStatus.NOT_FOUND, f"unknown SQ command {command!r}")


MISSING_SCROLL = "---sq:Scroll-Missing---"
DEFAULT_COORDINATE = "1.1.1/1.1.1/1.1.1"


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


class VTPUServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, store, *, key=None, default_phext="world", verbose=False):
        super().__init__(address, Handler)
        self.store, self.key, self.default_phext, self.verbose = store, key, default_phext, verbose


def make_server(host="127.0.0.1", port=1337, *, backend="model", data=".", key=None,
                phext="world", verbose=False, **options):
    """Listen first: a busy port fails before a backend starts or the data directory is made."""
    check_name(phext)
    try:
        server = VTPUServer((host, port), None, key=key, default_phext=phext, verbose=verbose)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    vtpu = None
    try:
        vtpu = VTPU(backend, **options)
        try:
            server.store = Store(vtpu, data)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot make the data directory {data}: "
                                     f"{exc.strerror}") from None
    except BaseException:
        if vtpu is not None:
            vtpu.close()
        server.server_close()
        raise
    return server


def serve(**kwargs):
    server = make_server(**kwargs)
    host, port = server.server_address[:2]
    print(f"vtpu serve: http://{host}:{port}/ backend {server.store.vtpu.backend.name}, "
          f"data in {server.store.dir.resolve()}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.store.vtpu.close()
    return 0
