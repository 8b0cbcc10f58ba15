"""What the four workloads share: their devices, the meter that counts what a
phase cost on each, the boards' clocks and links, and the verdict."""

import json
import math
import statistics
import time
from pathlib import Path

from ..client import VTPU

REPORTS = Path("build/reports")
BACKENDS = ("model", "verilator")
NAMES = ("attention", "moe", "graph", "sync")
LINK_BITS = 10          # a UART byte: start bit, 8 data bits, stop bit (8N1)


def open_device(backend, entries):
    """The vTPU a workload runs on: the model, or the RTL under Verilator with
    the same memory (the cuckoo memory of ``entries`` keys)."""
    if backend == "verilator":
        return VTPU("verilator", entries=entries, memory="cuckoo")
    return VTPU(backend, entries=entries)


class Meter:
    """What a phase cost on one device: host seconds, bytes each way and,
    on the RTL, the core's clocks (commands go in a byte a clock)::

        with Meter(device) as m:
            ...
        m.clocks, m.sent, m.received, m.seconds
    """

    def __init__(self, device):
        self.device = device

    def _now(self):
        stats = self.device.stats
        return (getattr(self.device.backend, "clocks", None), stats["bytes_sent"],
                stats["bytes_received"], time.perf_counter())

    def __enter__(self):
        self._start = self._now()
        return self

    def __exit__(self, *exc):
        clocks, sent, received, now = self._now()
        self.clocks = None if clocks is None else clocks - self._start[0]
        self.sent, self.received = sent - self._start[1], received - self._start[2]
        self.seconds = now - self._start[3]
        return False


def board_fmax(name, board):
    """(MHz, where the figure comes from): the core clock nextpnr reached in
    this board's last build report, else the clock the build is made for."""
    path = REPORTS / f"synth-{name}.json"
    if path.exists():
        report = json.loads(path.read_text())
        fmax = report.get("fmax_mhz")
        if isinstance(fmax, dict):      # a clock per domain: the core's is "clk"
            fmax = next((v for k, v in fmax.items() if k.endswith("$clk")), None)
        if fmax:
            return float(fmax), f"{path} (nextpnr)"
    return board.clk_hz / 1e6, "the build's core clock (no synth report: make synth BOARD=" + name + ")"


def at_boards(clocks, sent, received, ops):
    """The phase's time on each board: the core's clocks at its Fmax, and the
    host link's time for the same bytes at its baud rate (full duplex: the
    larger direction), so the bottleneck shows. ``missing``: the phase's
    instructions that board's build leaves out."""
    from rtl.boards import BOARDS
    out = {}
    for name, board in BOARDS.items():
        mhz, source = board_fmax(name, board)
        out[name] = {
            "fmax_mhz": round(mhz, 2), "fmax_source": source, "baud": board.baud,
            "core_s": clocks / (mhz * 1e6) if clocks is not None else None,
            "link_s": max(sent, received) * LINK_BITS / board.baud,
            "missing": sorted(op.name for op in ops if op not in board.ops),
        }
    return out


def left_out(board_times, board="ulx3s-85f"):
    """A note naming the instructions ``board``'s build leaves out, or ''."""
    missing = board_times[board]["missing"]
    return f" (its build leaves out {', '.join(missing)} today)" if missing else ""


def best_of(repeats, fn):
    """The shortest of ``repeats`` runs of ``fn()`` in seconds, and its last result."""
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def percentile(values, p):
    """The p-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def si(seconds):
    """Seconds as text with a unit that suits them."""
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            return f"{seconds / scale:.3g} {unit}"


def mean(values):
    return statistics.fmean(values) if values else 0.0


class Checks:
    """Answers compared with their reference: ``check(ok, what)`` counts them
    and keeps the first few failures to report."""

    KEEP = 5

    def __init__(self):
        self.passed, self.failed, self.failures = 0, 0, []

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            if len(self.failures) < self.KEEP:
                self.failures.append(what() if callable(what) else what)
        return ok

    def report(self):
        return {"compared": self.passed + self.failed, "mismatches": self.failed,
                "first_mismatches": self.failures}


def add_arguments(parser):
    """The command line of ``make workloads`` / ``vtpu workloads``."""
    parser.add_argument("names", nargs="*", metavar="WORKLOAD",
                        help=f"workloads to run: {', '.join(NAMES)} (default: all four)")
    parser.add_argument("--size", type=int, default=1,
                        help="scale every workload by this factor (default 1: each in a few minutes)")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma-separated: model, verilator (default: both)")
    parser.add_argument("--report", default=str(REPORTS / "workloads.json"))
