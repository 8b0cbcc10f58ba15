"""The HTTP server, started for real on a loopback port and spoken to with a
real HTTP client (urllib), on every backend this machine can run."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from phext.coordinate import Coordinate
from phext.phext import Phext

from backend_params import backend_params
from vtpu.phextio import read_phext
from vtpu.server import make_server

ROOT = Path(__file__).resolve().parents[1]


class Http:
    def __init__(self, base, key=None):
        self.base, self.key = base, key

    def __call__(self, path, method="GET", body=None, key=None):
        request = urllib.request.Request(self.base + path, data=body, method=method)
        if key or self.key:
            request.add_header("Authorization", key or self.key)
        try:
            with urllib.request.urlopen(request, timeout=120) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def json(self, path, method="GET", body=None):
        status, text = self(path, method, body)
        return status, json.loads(text)


@pytest.fixture(params=backend_params())
def server(request, tmp_path):
    srv = make_server(port=0, backend=request.param, data=tmp_path, sets=16, ways=2)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield Http(f"http://127.0.0.1:{srv.server_address[1]}"), tmp_path
    srv.shutdown()
    srv.server_close()
    srv.store.vtpu.close()


def test_sq_routes(server):
    http, data = server
    assert http("/api/v2/version")[0] == 200
    assert http("/api/v2/insert?p=notes&c=1.1.1/1.1.1/1.1.1&s=hello") == (200, "Inserted 5 bytes")
    assert http("/api/v2/insert?p=notes", "POST", b" world") == (200, "Inserted 6 bytes")
    assert http("/api/v2/select?p=notes&c=1.1.1/1.1.1/1.1.1") == (200, "hello world")
    assert http("/api/v2/update?p=notes&c=1.1.1/1.1.2/1.1.1", "POST", b"second\nline")[0] == 200
    assert http("/api/v2/update?p=notes&c=1.1.1/1.1.1/1.1.1&s=replaced") == (200, "Updated 8 bytes")
    assert http("/api/v2/save?p=notes") == (200, "Saved notes.phext")    # a checkpoint
    text = (data / "notes.phext").read_text()
    expected = Phext().implode({Coordinate(1, 1, 1, 1, 1, 1, 1, 1, 1): "replaced",
                                Coordinate(1, 1, 1, 1, 1, 2, 1, 1, 1): "second\nline"})
    assert text == expected
    assert http("/api/v2/get?p=notes") == (200, expected)
    assert http("/api/v2/checksum?p=notes") == (200, Phext().checksum(expected))
    assert http("/api/v2/toc?p=notes") == (200, Phext().textmap(expected))
    assert http("/api/v2/delta?p=notes") == (200, expected)          # nothing held: everything
    held = f"1.1.1/1.1.1/1.1.1: {Phext().checksum('replaced')}\n9.9.9/9.9.9/9.9.9: 00\n"
    assert http("/api/v2/delta?p=notes", "POST", held.encode()) == (200, Phext().implode({
        Coordinate(1, 1, 1, 1, 1, 2, 1, 1, 1): "second\nline",
        Coordinate(9, 9, 9, 9, 9, 9, 9, 9, 9): "---sq:Scroll-Missing---"}))
    assert http("/api/v2/delta?p=notes", "POST", b"garbage line")[0] == 400
    status, export = http.json("/api/v2/json-export?p=notes")
    assert status == 200 and export == [{"coord": "1.1.1/1.1.1/1.1.1", "scroll": "replaced"},
                                        {"coord": "1.1.1/1.1.2/1.1.1", "scroll": "second\nline"}]
    assert http("/api/v2/delete?p=notes&c=1.1.1/1.1.1/1.1.1") == (200, "Removed 8 bytes")
    assert http("/api/v2/select?p=notes&c=1.1.1/1.1.1/1.1.1") == (200, "")
    assert http("/api/v2/save?p=notes")[0] == 200
    assert [c for c, _ in read_phext(data / "notes.phext")] == [(1, 1, 1, 1, 1, 2, 1, 1, 1)]


def test_prototype_routes(server):
    http, data = server
    assert http.json("/health") == (200, {"status": "ok"})
    for coord, content in [("2.1.3/4.7.2/9.2.2", "alpha"), ("2.1.3/4.7.2/9.2.3", "beta"),
                           ("5.5.5/5.5.5/5.5.5", "far")]:
        body = json.dumps({"coordinate": coord, "content": content}).encode()
        assert http.json("/write", "POST", body)[0] == 200
    assert http.json("/read/2.1.3/4.7.2/9.2.2") == (200, {"coordinate": "2.1.3/4.7.2/9.2.2",
                                                          "content": "alpha"})
    status, found = http.json("/range/" + quote("2.1.3/4.7.2/9.2.*"))
    assert status == 200 and found == {"scrolls": [
        {"coordinate": "2.1.3/4.7.2/9.2.2", "content": "alpha"},
        {"coordinate": "2.1.3/4.7.2/9.2.3", "content": "beta"}]}
    assert http.json("/read/9.9.9/9.9.9/9.9.9")[0] == 404
    assert http("/api/v2/save?p=world")[0] == 200
    assert [c for c, _ in read_phext(data / "world.phext")][0] == (2, 1, 3, 4, 7, 2, 9, 2, 2)
    # The SQ routes see the same scrolls.
    assert http("/api/v2/select?p=world&c=5.5.5/5.5.5/5.5.5") == (200, "far")


def test_bad_requests_get_4xx_with_a_message(server):
    http, data = server
    for name in ("..%2Fetc", "a/b", "a%5Cb", ".."):
        status, text = http(f"/api/v2/select?p={name}&c=1.1.1/1.1.1/1.1.1")
        assert status == 403 and "refused" in text
    assert http("/api/v2/select?c=1.1.1/1.1.1/1.1.1")[0] == 400     # no phext named
    status, text = http("/api/v2/select?p=x&c=1.1.1/1.1.1")
    assert status == 400 and "expected 3 groups" in text
    status, text = http("/api/v2/update?p=x&c=1000.1.1/1.1.1/1.1.1&s=no")
    assert status == 400 and "phext range" in text
    assert http("/api/v2/nonsense?p=x")[0] == 404
    assert http.json("/write", "POST", b"{not json")[0] == 400
    assert http.json("/write", "POST", b'{"coordinate": "1.1.1/1.1.1/1.1.1"}')[0] == 400
    assert http.json("/range/" + quote("1.1.[5:2]/1.1.1/1.1.1"))[0] == 400
    assert not (data.parent / "etc.phext").exists()


def test_table_full_is_507_and_loses_nothing(server):
    http, data = server
    from vtpu.model import Model
    model = Model(sets=16, ways=2)
    target = model.locate((1,) * 9)
    same = [c for c in ((i, 1, 1, 1, 1, 1, 1, 1, 1) for i in range(1, 999))
            if model.locate(c) == target][:3]
    name = lambda c: ".".join(map(str, c[:3])) + "/1.1.1/1.1.1"   # noqa: E731
    for c in same[:2]:
        assert http(f"/api/v2/update?p=full&c={name(c)}&s=kept")[0] == 200
    assert http("/api/v2/save?p=full")[0] == 200
    before = (data / "full.phext").read_text()
    status, text = http(f"/api/v2/update?p=full&c={name(same[2])}&s=refused")
    assert status == 507 and "table full" in text
    assert http("/api/v2/save?p=full")[0] == 200
    assert (data / "full.phext").read_text() == before
    assert all(http(f"/api/v2/select?p=full&c={name(c)}") == (200, "kept") for c in same[:2])


def test_key_is_required_when_set(tmp_path):
    srv = make_server(port=0, data=tmp_path, key="sesame")
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    http = Http(f"http://127.0.0.1:{srv.server_address[1]}")
    try:
        assert http("/api/v2/select?p=a&c=1.1.1/1.1.1/1.1.1")[0] == 401
        assert http("/api/v2/select?p=a&c=1.1.1/1.1.1/1.1.1", key="wrong")[0] == 401
        assert http("/api/v2/select?p=a&c=1.1.1/1.1.1/1.1.1", key="sesame") == (200, "")
        assert http.json("/read/1.1.1/1.1.1/1.1.1")[0] == 401
    finally:
        srv.shutdown()
        srv.server_close()


def test_phext_written_by_the_library_serves_and_saves_back_unchanged(tmp_path):
    scrolls = {Coordinate(1, 1, 1, 1, 1, 1, 1, 1, 1): "first scroll",
               Coordinate(1, 1, 1, 1, 1, 1, 1, 1, 2): "second",
               Coordinate(1, 2, 3, 4, 5, 6, 7, 8, 9): "deep\r\nwith lines",
               Coordinate(3, 1, 1, 1, 1, 1, 1, 1, 1): "another library"}
    original = Phext().implode(scrolls)
    (tmp_path / "lib.phext").write_bytes(original.encode())
    srv = make_server(port=0, data=tmp_path)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    http = Http(f"http://127.0.0.1:{srv.server_address[1]}")
    try:
        assert http("/api/v2/load?p=lib") == (200, "Loaded lib.phext")
        assert http("/api/v2/get?p=lib") == (200, original)
        assert http("/api/v2/checksum?p=lib") == (200, Phext().checksum(original))
        assert http("/api/v2/select?p=lib&c=1.2.3/4.5.6/7.8.9") == (200, "deep\r\nwith lines")
        # Rewriting a scroll with its own text saves the file: byte-identical.
        assert http("/api/v2/update?p=lib&c=1.1.1/1.1.1/1.1.2&s=second")[0] == 200
        assert http("/api/v2/save?p=lib")[0] == 200
        assert (tmp_path / "lib.phext").read_bytes() == original.encode()
    finally:
        srv.shutdown()
        srv.server_close()


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_killing_the_server_mid_write_loses_nothing_acknowledged(tmp_path):
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "sw"), str(ROOT)]))
    command = [sys.executable, "-m", "vtpu.cli", "serve", "--port", str(port), "--data", str(tmp_path),
               "--sets", "64", "--ways", "8"]
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    http = Http(f"http://127.0.0.1:{port}")
    try:
        for _ in range(100):
            try:
                if http("/health")[0] == 200:
                    break
            except urllib.error.URLError:
                time.sleep(0.1)
        acknowledged = {}
        stop = time.monotonic() + 1.5
        i = 0
        while time.monotonic() < stop:
            i += 1
            coord = f"1.1.{i % 40 + 1}/1.1.1/1.1.1"
            text = f"version {i} " + "x" * (i % 300)
            if http(f"/api/v2/update?p=crash&c={coord}", "POST", text.encode())[0] == 200:
                acknowledged[coord] = text
        # Kill it while a last write is in flight.
        threading.Thread(target=lambda: _quiet(http, "/api/v2/update?p=crash&c=1.1.1/1.1.1/1.1.1",
                                               "POST", b"in flight" * 1000), daemon=True).start()
        time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    assert i > 20
    from vtpu.wal import read_store          # what a restart recovers: snapshot + log
    saved = dict((".".join(map(str, c[:3])) + "/" + ".".join(map(str, c[3:6])) + "/"
                  + ".".join(map(str, c[6:])), s) for c, s in read_store(tmp_path, "crash").items())
    for coord, text in acknowledged.items():
        if coord == "1.1.1/1.1.1/1.1.1" and saved.get(coord) == "in flight" * 1000:
            continue                     # the unacknowledged write may have landed
        assert saved.get(coord) == text, coord


def _quiet(http, *args):
    try:
        http(*args)
    except Exception:
        pass


def test_labels_are_refused_by_the_rule_the_client_and_cli_use(tmp_path):
    """Issue 26: one rule in vtpu.coord. The server keeps no symbol table, so a word
    is refused with the same message the CLI gives, instead of aliasing a number."""
    from vtpu.coord import CoordError, parse_coord
    with pytest.raises(CoordError) as err:
        parse_coord("a.b.c/1.1.1/1.1.1")
    srv = make_server(port=0, data=tmp_path)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    http = Http(f"http://127.0.0.1:{srv.server_address[1]}")
    try:
        assert http("/api/v2/update?p=x&c=1.1.1/1.1.1/1.1.1&s=kept")[0] == 200
        status, text = http("/api/v2/update?p=x&c=a.b.c/1.1.1/1.1.1&s=alias")
        assert status == 400 and str(err.value) in text
        body = json.dumps({"coordinate": "a.b.c/1.1.1/1.1.1", "content": "alias"}).encode()
        status, answer = http.json("/write", "POST", body)
        assert status == 400 and answer["error"] == str(err.value)
        assert http("/api/v2/select?p=x&c=1.1.1/1.1.1/1.1.1") == (200, "kept")
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_busy_port_fails_before_the_data_directory_is_made(tmp_path):
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError, match="cannot listen on 127.0.0.1:"):
            make_server(port=busy.getsockname()[1], data=tmp_path / "new")
    assert not (tmp_path / "new").exists()
