"""What the four workloads share: their devices, the meter that counts what a
phase cost on each, the boards' clocks and links, and the verdict."""

import functools
import json
import math
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
    """The Fmax (MHz) nextpnr reached for the board's byte-stream clock in its
    last build report, or None without one (``make synth BOARD=name``)."""
    path = REPORTS / f"synth-{name}.json"
    if not path.exists():
        return None
    fmax = json.loads(path.read_text()).get("fmax_mhz")
    if isinstance(fmax, dict):          # a clock per domain: the stream's is host_clk if any
        fmax = fmax.get("$glbnet$host_clk", fmax.get("$glbnet$clk"))
    return float(fmax) if fmax else None


@functools.lru_cache(maxsize=None)
def board_stores(name):
    """The keys board ``name``'s memory stores before its first TABLE_FULL
    (random keys, the model configured as the board)."""
    from rtl.boards import BOARDS
    board = BOARDS[name]
    return int(board.fill() * board.entries)


def at_boards(clocks, sent, received, ops, keys=None, round_trip=False):
    """The phase on each board: the simulated core's clocks at the clock the
    board's build runs its byte stream on (frame decoder, answer collector,
    encoder: every command and answer byte passes them a byte a clock), and
    the host link's time for the same bytes at the board's baud rate: the
    larger direction (the UART is full duplex), or both added for a single
    request and its answer (``round_trip``). USB latency is not in it.
    ``missing``: the phase's instructions the board's build leaves out;
    ``holds_keys``: whether its memory holds the ``keys`` the phase stored:
    no more than it stores before its first TABLE_FULL (``stores``: random
    keys, the model configured as the board; its report's ``fill``)."""
    from rtl.boards import BOARDS
    out = {}
    for name, board in BOARDS.items():
        mhz = board.host_hz / 1e6
        wire = (sent + received) if round_trip else max(sent, received)
        out[name] = {
            "stream_mhz": round(mhz, 2), "fmax_mhz": board_fmax(name, board), "baud": board.baud,
            "core_s": clocks / (mhz * 1e6) if clocks is not None else None,
            "link_s": wire * LINK_BITS / board.baud,
            "missing": sorted(op.name for op in ops if op not in board.ops),
            "entries": board.entries,
            "stores": board_stores(name),
            "holds_keys": None if keys is None else keys <= board_stores(name),
        }
    return out


BOARD = "ulx3s-85f"    # the board the verdicts quote: the one meant to carry every instruction


def left_out(board_times, board=BOARD):
    """A note on what ``board``'s build lacks for the phase, or ''."""
    b = board_times[board]
    notes = []
    if b["missing"]:
        notes.append(f"leaves out {', '.join(b['missing'])}")
    if b["holds_keys"] is False:
        notes.append(f"stores {b['stores']:,} keys before refusing one, fewer than the "
                     "workload stores")
    return f" (its build today {' and '.join(notes)})" if notes else ""


def speedup(baseline_s, board_times):
    """How many times faster than a baseline taking ``baseline_s`` a board is:
    (its core alone, its core behind its link, whichever is slower)."""
    core, link = board_times["core_s"], board_times["link_s"]
    return baseline_s / core, baseline_s / max(core, link)


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
