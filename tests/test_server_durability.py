"""The server's log: records, replay, checkpoints; and the two reliability tests of
issue 29 against a real ``vtpu serve`` process on a loopback port (bounded in
count and time): kill -9 during 8 concurrent writers, and 10,000 malformed
requests."""

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

from vtpu import httpload, wal
from vtpu.phextio import read_phext

ROOT = Path(__file__).resolve().parents[1]


# --- the log on its own -------------------------------------------------------------------

def test_records_round_trip_and_a_torn_tail_is_ignored(tmp_path):
    records = [(wal.TEXT, (1,) * 9, "héllo"), (wal.INT, (0,) * 9, 2**64 - 1),
               (wal.DELETE, (65535,) * 9, None), (wal.TEXT, (2,) * 9, "")]
    data = b"".join(wal.encode_record(*r) for r in records)
    assert wal.decode_records(data) == (records, len(data))
    for cut in range(1, len(wal.encode_record(*records[-1]))):
        got, good = wal.decode_records(data[:-cut])
        assert got == records[:-1] and good == len(data) - len(wal.encode_record(*records[-1]))
    flipped = bytearray(data)
    flipped[-1] ^= 1                                 # a bad CRC ends the segment there
    assert wal.decode_records(bytes(flipped))[0] == records[:-1]


def test_snapshot_plus_segments_replay_in_order(tmp_path):
    wal.write_snapshot(tmp_path, "s", [((1,) * 9, "one"), ((0,) * 9, "wide"), ((2,) * 9, 7)])
    assert read_phext(tmp_path / "s.phext") == [((1,) * 9, "one")]
    (tmp_path / "s.phext.wal.1").write_bytes(wal.encode_record(wal.TEXT, (1,) * 9, "uno")
                                             + wal.encode_record(wal.DELETE, (0,) * 9))
    (tmp_path / "s.phext.wal.2").write_bytes(wal.encode_record(wal.TEXT, (3,) * 9, "three")
                                             + b"\x07\x00\x00")          # a torn record
    warnings = []
    assert wal.read_store(tmp_path, "s", warn=warnings.append) == {
        (1,) * 9: "uno", (2,) * 9: 7, (3,) * 9: "three"}
    assert len(warnings) == 1 and "s.phext.wal.2" in warnings[0]
    assert wal.compact(tmp_path, "s")
    assert wal.segments(tmp_path, "s") == []
    assert wal.read_store(tmp_path, "s") == {(1,) * 9: "uno", (2,) * 9: 7, (3,) * 9: "three"}


# --- a real server --------------------------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(data, port, *options, stderr=subprocess.DEVNULL):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "sw"), str(ROOT)]))
    child = subprocess.Popen([sys.executable, "-m", "vtpu.cli", "serve", "--port", str(port),
                              "--data", str(data), *options], env=env,
                             stdout=subprocess.DEVNULL, stderr=stderr)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return child
        except OSError:
            if child.poll() is not None:
                raise RuntimeError(f"vtpu serve exited with {child.returncode}")
            time.sleep(0.05)
    child.kill()
    raise RuntimeError("vtpu serve did not answer")


def _get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


WRITERS, COORDS_EACH = 8, 5


def _coordinate(client, i):
    return f"{client + 1}.1.1/1.1.1/1.1.{i % COORDS_EACH + 1}"


def _content(client, i):
    return f"writer {client} write {i} " + "x" * (i * 37 % 300)


def test_kill_9_during_8_concurrent_writers_loses_no_acknowledged_write(tmp_path):
    port = _free_port()
    # A small checkpoint size: snapshots and log rotations happen during the run too.
    child = _start(tmp_path, port, "--checkpoint-bytes", "20000")
    make = lambda c, i: httpload.request(  # noqa: E731
        "POST", f"/api/v2/update?p=crash&c={quote(_coordinate(c, i))}", _content(c, i).encode())
    killer = threading.Timer(1.5, lambda: child.send_signal(signal.SIGKILL))
    killer.start()
    try:
        answers, errors = httpload.run("127.0.0.1", port, make, connections=WRITERS, count=20000,
                                       seconds=10)
    finally:
        killer.cancel()
        child.kill()
        child.wait(10)
    assert all(a.status == 200 for a in answers)
    assert len(answers) > 100 and len(errors) == WRITERS    # each writer was cut off mid-request
    acknowledged, in_flight = {}, {}
    for a in sorted(answers, key=lambda a: a.index):
        acknowledged[_coordinate(a.client, a.index)] = _content(a.client, a.index)
    for client, i, _ in errors:
        in_flight[_coordinate(client, i)] = _content(client, i)
    assert any(name.startswith("crash.phext.wal.") for name in os.listdir(tmp_path))

    child = _start(tmp_path, port)                          # restart: replays the log
    try:
        status, export = _get(port, "/api/v2/json-export?p=crash")
        assert status == 200
        found = {item["coord"]: item["scroll"] for item in json.loads(export)}
        for coordinate in set(acknowledged) | set(in_flight):
            allowed = {acknowledged.get(coordinate), in_flight.get(coordinate)} - {None}
            if coordinate not in acknowledged:
                allowed.add(None)                           # only ever in flight: may be absent
            assert found.get(coordinate) in allowed, coordinate
        assert set(found) <= set(acknowledged) | set(in_flight)   # nothing else
    finally:
        child.terminate()
        assert child.wait(60) == 0
    # A clean stop folds the log into the .phext.
    assert not [n for n in os.listdir(tmp_path) if ".wal." in n]
    saved = {c: t for c, t in read_phext(tmp_path / "crash.phext")}
    assert {".".join(map(str, c[:3])) + "/1.1.1/1.1." + str(c[8]): t
            for c, t in saved.items()} == found


def _semantic_garbage(rng):
    """A valid HTTP request that the server must refuse (4xx), and never a write."""
    junk = lambda n: "".join(rng.choice("0123456789.;/*[]:-+xé١\u00b2 %\x00\\") for _ in range(n))  # noqa: E731
    bad_coord = lambda: rng.choice(["1.1.1/1.1.1", "1.1.1/1.1.1/1.1.x", "70000.1.1/1.1.1/1.1.1",  # noqa: E731
                                    "1.1.1/1.1.1/1.1.\u0661", "a.b.c/1.1.1/1.1.1",
                                    "1..1/1.1.1/1.1.1", "-1.1.1/1.1.1/1.1.1", "x" + junk(8)])
    delimited = lambda: "text" + rng.choice("\x01\x17\x18\x19\x1a\x1c\x1d\x1e\x1f") + junk(5)  # noqa: E731
    kind = rng.randrange(14)
    if kind == 0:
        return httpload.request("GET", f"/api/v2/update?p={quote(bad_coord())}&c=1.1.1/1.1.1/1.1.1"
                                       f"&s=x".replace("p=", "p=../"))
    if kind == 1:
        return httpload.request("POST", f"/api/v2/update?p=world&c={quote(bad_coord())}", b"x")
    if kind == 2:
        return httpload.request("POST", f"/api/v2/{rng.choice(['update', 'insert'])}?p=world"
                                        f"&c=1.1.1/1.1.1/1.1.1", delimited().encode())
    if kind == 3:
        return httpload.request("POST", "/api/v2/update?p=world&c=1.1.1/1.1.1/1.1.1",
                                b"bad \xff\xfe utf-8" + bytes(rng.randrange(256) for _ in range(4)))
    if kind == 4:
        body = rng.choice([b"{not json", b"[]", b"null", b'{"coordinate": 5, "content": "x"}',
                           b'{"coordinate": "1.1.1/1.1.1/1.1.1"}', b"[" * 5000,
                           b'{"coordinate": "1.1.1/1.1.1/1.1.1", "content": "\\ud800"}',
                           b'{"coordinate": "1.1.1/1.1.1/1.1.1", "content": 1e999}',
                           json.dumps({"coordinate": bad_coord(), "content": "x"}).encode(),
                           json.dumps({"coordinate": "1.1.1/1.1.1/1.1.1",
                                       "content": delimited()}).encode()])
        return httpload.request("POST", "/write", body)
    if kind == 5:
        return httpload.request("GET", "/read/" + quote(bad_coord()))
    if kind == 6:
        return httpload.request("GET", "/range/" + quote(junk(12)))
    if kind == 7:
        op = rng.choice(["cput", "cget", "cnearest", "crange", "ckg", "cattend", "nosuch", "cdelta"])
        body = rng.choice([b"{", b"[1]", b'{"coord": 7}', b'{"coord": "1.1.1/1.1.1/1.1.1", "k": 999}',
                           b'{"coord": [1, 2], "value": -1}', b'{"pattern": "[5:2].*.*/*.*.*/*.*.*"}',
                           json.dumps({"coord": bad_coord(), "content": "x", "value": 1}).encode(),
                           json.dumps({"coord": "1.1.1/1.1.1/1.1.1", "content": delimited()}).encode(),
                           json.dumps({"coord": "1.1.1/1.1.1/1.1.1", "lanes": [300] * 8}).encode(),
                           json.dumps({"coord": "1.1.1/1.1.1/1.1.1", "deltas": [[99999] * 9]}).encode(),
                           json.dumps({"coord": "1.1.1/1.1.1/1.1.1", "delta": "1.2"}).encode()])
        if op == "cput" and b'"content": "x"' not in body and b"lanes" not in body \
                and b"delimit" not in body and b"text" not in body:
            body = b'{"coord": 7}'
        return httpload.request("POST", f"/api/v1/{op}", body)
    if kind == 8:
        return httpload.request(rng.choice(["PUT", "DELETE", "PATCH", "TRACE"]), "/write", b"{}")
    if kind == 9:
        return httpload.request("GET", f"/api/v2/{quote(junk(6), safe='')}?p=world")
    if kind == 10:
        return httpload.request("GET", "/api/v2/select?p=" + quote(rng.choice(["", "..", "a/b", "a\\b",
                                                                          "x\x01", "." + junk(3)])))
    if kind == 11:
        return httpload.request("GET", "/api/v2/select?p=world&c=1.1.1&" + "&".join(
            f"k{i}=v" for i in range(70)))                  # too many fields
    if kind == 12:
        return httpload.request("GET", "/api/v2/select?p=world&c=%ff%fe")
    return httpload.request("POST", "/api/v2/delete?p=world&c=" + quote(bad_coord()))


def _wire_garbage(rng):
    """Bytes that are not a well-formed HTTP request."""
    kind = rng.randrange(10)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    if kind == 1:
        return b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: " + rng.choice(
            [b"abc", b"-1", b"99999999999999999999999", b"1e9", b"\xd9\xa5", b"+3"]) + b"\r\n\r\n"
    if kind == 2:
        return b"GET /" + b"a" * rng.choice([9000, 20000]) + b" HTTP/1.1\r\n\r\n"
    if kind == 3:
        return b"GET /health HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n"
    if kind == 4:
        return b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    if kind == 5:
        return b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40)
    if kind == 6:
        return b"POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"coordinate\""  # truncated
    if kind == 7:
        return b"POST /api/v2/update?p=world HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n"
    if kind == 8:
        return b"GET /health HTTP/9.9\r\n\r\n"
    return b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n"


async def _send_wire(port, requests, statuses):
    sem = asyncio.Semaphore(16)

    async def one(data):
        async with sem:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(data)
                writer.write_eof()
                answer = await asyncio.wait_for(reader.read(), 10)
                writer.close()
            except (OSError, asyncio.TimeoutError):
                return
            if answer.startswith(b"HTTP/"):
                statuses.append(int(answer[9:12]))
    await asyncio.gather(*(one(r) for r in requests))


def test_10000_malformed_requests_no_traceback_no_5xx_nothing_changed(tmp_path):
    port = _free_port()
    log = open(tmp_path / "stderr.txt", "w+b")
    data = tmp_path / "data"
    child = _start(data, port, "--timeout", "3", stderr=log)
    try:
        for c, text in [("1.1.1/1.1.1/1.1.1", "first"), ("1.1.1/1.1.1/1.1.2", "second\nline")]:
            assert _get(port, f"/api/v2/update?p=world&c={c}&s={quote(text)}")[0] == 200
        body = json.dumps({"coordinate": "0.0.0/0.0.0/0.0.0", "content": "wide"}).encode()
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/write", body))
        before = [_get(port, p) for p in ("/api/v2/get?p=world", "/range/*.*.*/*.*.*/*.*.*")]

        rng = random.Random(29)
        semantic = [_semantic_garbage(rng) for _ in range(8000)]
        wire = [_wire_garbage(rng) for _ in range(2000)]
        start = time.monotonic()
        answers, errors = httpload.run("127.0.0.1", port, lambda c, i: semantic[c * 1000 + i],
                                       connections=8, count=1000, seconds=60)
        statuses = [a.status for a in answers]
        asyncio.run(_send_wire(port, wire, statuses))
        elapsed = time.monotonic() - start

        assert not errors, errors[:3]
        assert len(answers) == 8000
        assert all(400 <= s < 500 for s in statuses), sorted(set(statuses))
        assert [_get(port, p) for p in ("/api/v2/get?p=world", "/range/*.*.*/*.*.*/*.*.*")] == before
        assert _get(port, "/health")[0] == 200
    finally:
        child.terminate()
        code = child.wait(60)
    log.seek(0)
    err = log.read().decode(errors="replace")
    assert code == 0
    assert "Traceback" not in err and "internal error" not in err, err[-3000:]
    assert elapsed < 60


# --- the log failing ------------------------------------------------------------------------

class _FailingOs:
    """``os`` for ``vtpu.wal``, with ``write`` or ``fdatasync`` failing on demand."""

    def __init__(self, fail):
        self.fail = fail

    def __getattr__(self, name):
        real = getattr(os, name)
        if name == self.fail:
            def failing(*args):
                raise OSError(28 if name == "write" else 5, os.strerror(28 if name == "write" else 5))
            return failing
        return real


def test_a_log_that_cannot_be_written_stores_nothing(tmp_path, monkeypatch):
    import threading as _threading
    from vtpu.server import make_server
    srv = make_server(port=0, data=tmp_path)
    _threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    try:
        assert _get(port, "/api/v2/update?p=f&c=1.1.1/1.1.1/1.1.1&s=kept")[0] == 200
        monkeypatch.setattr(wal, "os", _FailingOs("write"))
        status, text = _get(port, "/api/v2/update?p=f&c=1.1.1/1.1.1/1.1.1&s=lost")
        assert status == 507 and "No space left" in text
        status, text = _get(port, "/api/v2/update?p=f&c=2.2.2/2.2.2/2.2.2&s=lost")
        assert status == 507
        assert list(srv.store.vtpu.model.data) == [(1,) * 9]      # the device is as it was
        monkeypatch.setattr(wal, "os", os)
        assert _get(port, "/api/v2/select?p=f&c=1.1.1/1.1.1/1.1.1") == (200, "kept")
        assert _get(port, "/api/v2/update?p=f&c=2.2.2/2.2.2/2.2.2&s=new")[0] == 200
        # A failed sync stops the log: nothing is acknowledged after it.
        monkeypatch.setattr(wal, "os", _FailingOs("fdatasync"))
        status, text = _get(port, "/api/v2/update?p=f&c=3.3.3/3.3.3/3.3.3&s=unsure")
        assert status == 503 and "restart the server" in text
        monkeypatch.setattr(wal, "os", os)
        assert _get(port, "/api/v2/update?p=f&c=4.4.4/4.4.4/4.4.4&s=no")[0] == 503
    finally:
        monkeypatch.setattr(wal, "os", os)
        srv.shutdown()
        srv.server_close()
    state = wal.read_store(tmp_path, "f")
    assert state[(1,) * 9] == "kept" and state[(2,) * 9] == "new" and (4,) * 9 not in state
