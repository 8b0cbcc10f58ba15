"""The vtpu command, run as a user would: a subprocess."""

import subprocess
import sys

from test_asm import PROGRAM

import vtpu.cli


def vtpu_cmd(*args, **kw):
    return subprocess.run([sys.executable, "-m", "vtpu.cli", *args], capture_output=True, text=True,
                          timeout=120, **kw)


def test_run_prints_one_line_per_response(tmp_path):
    prog = tmp_path / "p.vasm"
    prog.write_text("CPUT 2.1.3/4.7.2/9.2.2, 0x2a\nCGET 2.1.3/4.7.2/9.2.2\nCGET 2.1.3/4.7.2/9.2.3\n"
                    "CRANGE 2.*.*/*.*.*/*.*.*\n")
    out = vtpu_cmd("run", str(prog))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["#0 CPUT OK", "#1 CGET OK value=0x2a", "#2 CGET NOT_FOUND",
                                       "#3 CRANGE OK + 2.1.3/4.7.2/9.2.2 value=0x2a", "#3 CRANGE OK count=1"]


def test_asm_disasm(tmp_path):
    prog = tmp_path / "p.vasm"
    prog.write_text(PROGRAM)
    out = vtpu_cmd("asm", str(prog), "-o", str(tmp_path / "p.bin"))
    assert out.returncode == 0, out.stderr
    dis = vtpu_cmd("disasm", str(tmp_path / "p.bin"))
    assert dis.returncode == 0 and len(dis.stdout.splitlines()) == 16


def test_errors_are_reported_with_file_and_line(tmp_path):
    prog = tmp_path / "bad.vasm"
    prog.write_text("CGET 1.1.1/1.1.1/1.1.1\nCPUT 1.1.1/1.1.1/1.1.1\n")
    out = vtpu_cmd("run", str(prog))
    assert out.returncode == 2
    assert f"{prog}:2: CPUT expects 'coordinate, value'" in out.stderr


def test_every_subcommand_has_help():
    for name in vtpu.cli.COMMANDS:
        out = vtpu_cmd(name, "--help")
        assert out.returncode == 0 and "usage: vtpu " + name in out.stdout


def test_the_issue_subcommands_exist():
    assert {"run", "asm", "disasm", "serve", "load", "dump", "bench"} <= set(vtpu.cli.COMMANDS)


def test_run_gives_the_same_lines_on_the_rtl_simulator(tmp_path):
    prog = tmp_path / "p.vasm"
    prog.write_text("CPUT 2.1.3/4.7.2/9.2.2, 0x2a\nCGET 2.1.3/4.7.2/9.2.2\nCGET 2.1.3/4.7.2/9.2.3\n"
                    "CDELTA 1.1.1/1.1.1/1.1.1, 0.0.1/0.0.0/0.0.0\nCMOE 2.1.3/4.7.2/9.2.2, 8\n")
    model = vtpu_cmd("run", str(prog))
    sim = vtpu_cmd("run", str(prog), "--backend", "sim")
    assert model.returncode == 0 and sim.returncode == 0, sim.stderr
    assert sim.stdout == model.stdout and len(sim.stdout.splitlines()) == 5


def test_serve_load_dump_round_trip(tmp_path):
    import os
    import socket
    import time
    import urllib.request
    from phext.coordinate import Coordinate
    from phext.phext import Phext
    original = Phext().implode({Coordinate(1, 1, 1, 1, 1, 1, 1, 1, 1): "one",
                                Coordinate(1, 1, 2, 1, 1, 1, 1, 1, 1): "two\nlines"})
    source = tmp_path / "in.phext"
    source.write_bytes(original.encode())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "data"
    server = subprocess.Popen([sys.executable, "-m", "vtpu.cli", "serve", "--port", str(port),
                               "--data", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}"
        loaded = vtpu_cmd("load", str(source), "--url", url, "-p", "book")
        assert loaded.returncode == 0, loaded.stderr
        assert f"loaded 2 scrolls into book; checksum {Phext().checksum(original)}" in loaded.stdout
        dumped = vtpu_cmd("dump", "--url", url, "-p", "book", "-o", str(tmp_path / "out.phext"))
        assert dumped.returncode == 0, dumped.stderr
        assert (tmp_path / "out.phext").read_bytes() == original.encode()
        assert (data / "book.phext").read_bytes() == original.encode()
        missing = vtpu_cmd("dump", "--url", "http://127.0.0.1:1", "-p", "book")
        assert missing.returncode != 0 and "cannot reach" in missing.stderr
    finally:
        server.terminate()
        server.wait(10)
    assert os.path.exists(data / "book.phext")
