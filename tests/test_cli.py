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
