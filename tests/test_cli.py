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
        missing = vtpu_cmd("dump", "--url", "http://127.0.0.1:1", "-p", "book")
        assert missing.returncode != 0 and "cannot reach" in missing.stderr
    finally:
        server.terminate()
        server.wait(10)
    # The log is folded into the snapshot when the server stops (SIGTERM).
    assert (data / "book.phext").read_bytes() == original.encode()


# --- Issue 26: what a new user runs into ------------------------------------------------

import threading                                            # noqa: E402

import pytest                                               # noqa: E402

from vtpu.coord import CoordError, parse_coord              # noqa: E402


def one_line_error(capsys, *argv, code=1):
    """``vtpu argv`` fails with exit ``code`` and exactly one line ``vtpu: ...`` on stderr."""
    assert vtpu.cli.main([str(a) for a in argv]) == code
    err = capsys.readouterr().err
    assert err.startswith("vtpu: ") and err.count("\n") == 1, err
    return err.rstrip("\n")


@pytest.fixture
def server(tmp_path):
    from vtpu.server import make_server
    srv = make_server(port=0, data=tmp_path / "data")
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_missing_and_wrong_files_are_one_line(capsys, tmp_path, server):
    assert one_line_error(capsys, "load", "nosuch.phext") == \
        "vtpu: nosuch.phext: No such file or directory"
    assert one_line_error(capsys, "load", tmp_path) == f"vtpu: {tmp_path}: Is a directory"
    assert one_line_error(capsys, "disasm", "nosuch.bin") == \
        "vtpu: nosuch.bin: No such file or directory"
    assert one_line_error(capsys, "asm", "nosuch.vasm") == \
        "vtpu: nosuch.vasm: No such file or directory"
    assert vtpu.cli.main(["load", str(_phext(tmp_path)), "--url", server, "-p", "book"]) == 0
    capsys.readouterr()
    assert one_line_error(capsys, "dump", "--url", server, "-p", "book",
                          "-o", "/nonexistent/x.phext") == \
        "vtpu: /nonexistent/x.phext: No such file or directory"


def _phext(tmp_path):
    from phext.coordinate import Coordinate
    from phext.phext import Phext
    path = tmp_path / "book.phext"
    path.write_text(Phext().implode({Coordinate(1, 1, 1, 1, 1, 1, 1, 1, 1): "one"}))
    return path


def test_servers_that_cannot_be_reached_are_one_line(capsys):
    assert "cannot reach http://127.0.0.1:1/api/v2/get?p=world: Connection refused" in \
        one_line_error(capsys, "dump", "--url", "http://127.0.0.1:1")
    assert "unknown url type" in one_line_error(capsys, "dump", "--url", "nonsense")


def test_serve_errors_are_one_line_and_leave_no_data_directory(capsys, tmp_path):
    (tmp_path / "file").write_text("")
    assert one_line_error(capsys, "serve", "--port", "0", "--data", tmp_path / "file" / "sub") == \
        f"vtpu: cannot use the data directory {tmp_path / 'file' / 'sub'}: Not a directory"
    assert "phext name '../x' refused" in one_line_error(capsys, "serve", "--port", "0",
                                                          "--phext", "../x")


def test_serve_on_a_busy_port(tmp_path):
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = vtpu_cmd("serve", "--port", str(port), "--data", str(tmp_path / "phexts"))
    assert out.returncode == 1
    assert out.stderr == f"vtpu: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    assert not (tmp_path / "phexts").exists()


def test_run_backend_errors_are_one_line(capsys, tmp_path):
    prog = tmp_path / "p.vasm"
    prog.write_text("CGET 1.1.1/1.1.1/1.1.1\n")
    assert "unknown backend 'nosuch'" in one_line_error(capsys, "run", prog, "--backend", "nosuch")
    assert "serial backend needs a port" in one_line_error(capsys, "run", prog, "--backend", "serial")


def test_a_closed_pipe_is_quiet(tmp_path):
    prog = tmp_path / "big.vasm"
    prog.write_text("".join(f"CGET 1.1.1/1.1.1/1.1.{i % 999 + 1}\n" for i in range(20000)))
    for extra in ([], ["-o", "-"]):
        child = subprocess.Popen([sys.executable, "-m", "vtpu.cli", "asm", str(prog), *extra],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        child.stdout.read(300)
        child.stdout.close()                      # `| head -c 300`
        assert child.wait(60) == 141
        assert child.stderr.read() == b""
        child.stderr.close()


def test_dump_of_a_phext_the_server_does_not_have_fails(capsys, server):
    err = one_line_error(capsys, "dump", "--url", server, "-p", "nosuch")
    assert err.startswith("vtpu: no phext named nosuch on ")
    assert capsys.readouterr().out == ""


def test_help_says_what_the_code_does():
    dump = vtpu_cmd("dump", "--help").stdout
    assert "(default: world)" in dump and "file's stem" not in dump
    assert "(default: the file's stem)" in vtpu_cmd("load", "--help").stdout
    assert "'-' for stdout" in vtpu_cmd("asm", "--help").stdout
    assert "model, sim, verilator; default 1" in vtpu_cmd("run", "--help").stdout


def test_asm_dash_o_dash_is_stdout(tmp_path):
    prog = tmp_path / "p.vasm"
    prog.write_text(PROGRAM)
    out = subprocess.run([sys.executable, "-m", "vtpu.cli", "asm", str(prog), "-o", "-"],
                         capture_output=True, cwd=tmp_path, timeout=60)
    assert out.returncode == 0 and out.stdout == vtpu.cli.assemble(PROGRAM)
    assert not (tmp_path / "-").exists()


def test_program_errors_name_file_line_and_component(capsys, tmp_path):
    prog = tmp_path / "prog.vasm"
    prog.write_text("CGET 1.1.1/1.1.1/1.1.1\nCGET 1.1.-1/1.1.1/1.1.1\n")
    assert one_line_error(capsys, "run", prog, code=2) == (
        f"vtpu: {prog}:2: coordinate '1.1.-1/1.1.1/1.1.1', component 3 (series): '-1' is "
        f"negative: components are 0..65535")
    prog.write_text("CGET 1.1.1/1.1.1/1.1.1\n\nCPUT 1.1.1/1.1.1/1.1.1, -1\n")
    assert one_line_error(capsys, "run", prog, code=2) == \
        f"vtpu: {prog}:3: value -1 is outside 0..18446744073709551615"
    prog.write_bytes(b"CGET 1.1.1/1.1.1/1.1.1 # caf\xe9\n")
    assert one_line_error(capsys, "run", prog) == \
        f"vtpu: {prog}: not UTF-8 text (byte 0xe9 at offset 28)"


def test_a_corrupt_phext_is_named(capsys, tmp_path):
    book = tmp_path / "book.phext"
    book.write_bytes(b"scroll \x91")
    assert one_line_error(capsys, "load", book) == \
        f"vtpu: {book}: not UTF-8 text (byte 0x91 at offset 7)"


def test_labels_follow_the_one_rule(capsys, tmp_path):
    """The CLI keeps no symbol table: a word is refused with vtpu.coord's message,
    the one the HTTP server answers (tests/test_server.py), never aliased."""
    with pytest.raises(CoordError) as err:
        parse_coord("a.b.c/1.1.1/1.1.1")
    prog = tmp_path / "prog.vasm"
    prog.write_text("CPUT a.b.c/1.1.1/1.1.1, 5\n")
    assert one_line_error(capsys, "run", prog, code=2) == f"vtpu: {prog}:1: {err.value}"


def test_version():
    from importlib.metadata import version
    out = vtpu_cmd("--version")
    assert out.returncode == 0 and out.stdout == f"vtpu {version('vtpu')}\n"
