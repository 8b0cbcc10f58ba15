"""``make bench``: measured figures into build/reports/bench.json (a flat JSON object).

Sections, each a function returning ``{name: number}``:
  * ``model.<op>.ops_per_s``   the golden model, per instruction, direct calls
    (the range instructions at ``model.range.entries`` stored keys);
  * ``model.frames.<op>.ops_per_s``  the same through the frame path;
  * ``baseline.dict.{get,put}.ops_per_s``  a plain Python dict doing the same;
  * ``rtl.*``     cycle figures from simulation (``flow.measure.figures``);
  * ``host.<backend>.*``  ops/s through the Python client, per backend;
  * ``host.server.*``  the HTTP server over loopback (section ``server``, see
    ``server_section``);
  * ``synth.<board>.*``  the latest ``make synth`` reports folded in.
A section that cannot run says so in ``unavailable`` instead of reporting zeros.
"""

import argparse
import json
import random
import sys
import time
from pathlib import Path

from .coord import Pattern
from .frame import command_frame
from .isa import DIMS, Op
from .model import Model

REPORTS = Path("build/reports")


def _rate(fn, items):
    start = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - start)


def _workload(n, seed=1):
    rng = random.Random(seed)
    keys = [tuple(rng.randrange(1, 17) for _ in range(DIMS)) for _ in range(n)]
    return rng, keys


def fill_at_first_full(*, keys="random", seeds=5, **geometry):
    """The fraction of the capacity stored when a new key first answers
    TABLE_FULL, mean of ``seeds`` runs, for the model built with ``geometry``
    (``Model``'s arguments: ``entries``, or ``sets`` and ``ways``, ``sentrons``,
    the cuckoo index's knobs). ``keys``: "random" (every component 0..65535)
    or "clustered" (phext-like: components 1..9, a few varying)."""
    fractions = []
    for seed in range(seeds):
        rng = random.Random(seed)
        m = Model(**geometry)
        while True:
            if keys == "random":
                key = tuple(rng.randrange(65536) for _ in range(DIMS))
            else:
                key = (1, 1, rng.randrange(1, 10), 1, rng.randrange(1, 10), rng.randrange(1, 10),
                       rng.randrange(1, 10), rng.randrange(1, 10), rng.randrange(1, 10))
            if key in m.data:
                continue
            if not m.cput(key, 1).ok:
                break
        fractions.append(len(m.data) / m.capacity)
    return sum(fractions) / len(fractions)


SPREAD_SIZES = [(n, e) for n in (128, 256, 1024) for e in (8, 16, 64)]


def spread_section():
    """``model.cmoe.max_over_mean.seqN_eE``: the busiest of E experts over the
    mean when CMOE routes sequence positions 1..N (``0.pos.3/1.1.1/1.1.1``), and
    ``.experts_used``; ``model.bucket.max_over_mean.seqN_eE`` the same for E
    buckets of the cuckoo index (the bits the model takes a first bucket from).
    ``model.random_function.max_over_mean.seqN_eE``: what a random function
    gives on the same N keys, the mean of 1000 draws, to read them against."""
    from .memory import CuckooMemory
    out = {}
    rng = random.Random(11)
    for n, e in SPREAD_SIZES:
        draws = []
        for _ in range(1000):
            counts = [0] * e
            for _ in range(n):
                counts[rng.randrange(e)] += 1
            draws.append(max(counts) / (n / e))
        out[f"model.random_function.max_over_mean.seq{n}_e{e}"] = round(sum(draws) / len(draws), 3)
        m = Model()
        keys = [(0, pos, 3, 1, 1, 1, 1, 1, 1) for pos in range(1, n + 1)]
        experts = [m.cmoe(k, e).fields["expert"] for k in keys]
        memory = CuckooMemory(e * 2, buckets=e)      # e buckets, one sentron
        buckets = [memory.locate(k)[1] for k in keys]
        for name, load in (("cmoe", experts), ("bucket", buckets)):
            counts = [load.count(i) for i in range(e)]
            out[f"model.{name}.max_over_mean.seq{n}_e{e}"] = round(max(counts) / (n / e), 3)
            out[f"model.{name}.used.seq{n}_e{e}"] = sum(1 for c in counts if c)
    return out


def model_section(quick=False):
    n = 2000 if quick else 20000
    rng, keys = _workload(n)
    m = Model(32768)
    out = {}
    out["model.cput.ops_per_s"] = _rate(lambda k: m.cput(k, 1), keys)
    out["model.cget.ops_per_s"] = _rate(m.cget, keys)
    delta = (1,) + (0,) * (DIMS - 1)
    out["model.cdelta.ops_per_s"] = _rate(lambda k: m.cdelta(k, delta), keys)
    out["model.croute.ops_per_s"] = _rate(lambda k: m.croute(k, 7), keys)
    out["model.cmoe.ops_per_s"] = _rate(lambda k: m.cmoe(k, 16), keys)
    out["model.chier.ops_per_s"] = _rate(lambda k: m.chier(Pattern.exact(k), 0), keys)
    out["model.crtset.ops_per_s"] = _rate(lambda k: m.crtset(3, k, 1), keys)
    step = (0, 0, 0, 1) + (0,) * 5
    out["model.ckg.ops_per_s"] = _rate(lambda k: m.ckg(k, 1, [step, step]), keys)
    out["model.cdel.ops_per_s"] = _rate(m.cdel, keys)
    out["model.table.entries"] = m.capacity
    # How full the memory gets before its first TABLE_FULL: the cuckoo memory
    # at 4096 entries (one sentron; four, as on the ULX3S; and with an index of
    # only as many slots as entries, where the relocation bound shows), and
    # the set-associative table the gateware still has (each build's own
    # figure is in its synth report).
    fills = {"": dict(entries=4096), "sentrons4.": dict(entries=4096, sentrons=4),
             "index1x.": dict(entries=4096, buckets=1024),
             "set_associative.": dict(sets=1024, ways=4)}
    for label, geometry in fills.items():
        for kind in ("random", "clustered"):
            out[f"model.fill.{label}{kind}"] = round(
                fill_at_first_full(keys=kind, seeds=2 if quick else 5, **geometry), 4)
    out.update(spread_section())
    out.update(_model_range(quick))
    # The frame path: encode is done up front; execute parses, runs and answers.
    f = Model(32768)
    puts = [command_frame(Op.CPUT, i % 256, coord=k, value=i) for i, k in enumerate(keys)]
    gets = [command_frame(Op.CGET, i % 256, coord=k) for i, k in enumerate(keys)]
    out["model.frames.cput.ops_per_s"] = _rate(f.execute, puts)
    out["model.frames.cget.ops_per_s"] = _rate(f.execute, gets)
    # Baseline: a plain dict doing the same gets and puts.
    d = {}
    out["baseline.dict.put.ops_per_s"] = _rate(lambda k: d.__setitem__(k, 1), keys)
    out["baseline.dict.get.ops_per_s"] = _rate(d.get, keys)
    return out


def _model_range(quick=False, queries=None):
    """Range instructions at 32,768 stored entries (4,096 with ``quick``), each
    timed over ``queries`` calls (default 1,000; 100 with ``quick``).

    The keys are 16-scroll books: 2,048 random library..book prefixes (six
    components 1..16, as ``_workload``), each with 16 scrolls at random
    chapter.section.scroll in 1..4. A box fixes a book's six components and
    leaves the last three ``*``: 16 results. CNEAREST asks for the 4 keys
    nearest a stored one; CATTEND scores (DOT) the box around a stored key.
    """
    books = 256 if quick else 2048
    rng = random.Random(2)
    prefixes = set()
    while len(prefixes) < books:
        prefixes.add(tuple(rng.randrange(1, 17) for _ in range(6)))
    keys = []
    for prefix in sorted(prefixes):
        scrolls = set()
        while len(scrolls) < 16:
            scrolls.add(tuple(rng.randrange(1, 5) for _ in range(DIMS - 6)))
        keys += [prefix + scroll for scroll in sorted(scrolls)]
    rng.shuffle(keys)
    m = Model(len(keys))
    if not all(m.cput(k, rng.getrandbits(64)).ok for k in keys):
        raise RuntimeError("bench: a range workload key did not fit the table")
    few = keys[:queries or (100 if quick else 1000)]
    box = lambda k: Pattern(k[:6] + (0, 0, 0), k[:6] + (65535,) * 3)  # noqa: E731
    return {
        "model.range.entries": len(m.data),
        "model.crange.ops_per_s": _rate(lambda k: m.crange(box(k)), few),
        "model.cdigest.ops_per_s": _rate(lambda k: m.cdigest(box(k)), few),
        "model.cnearest.ops_per_s": _rate(lambda k: m.cnearest(k, 4), few),
        "model.cattend.ops_per_s": _rate(lambda k: m.cattend(k, box(k), 4), few),
    }


def rtl_section(quick=False):
    from flow import measure
    return measure.figures(quick=quick)


def host_section(quick=False):
    """Instructions per second as a Python user sees them, through ``VTPU``:
    one round trip per call, and many calls pipelined in one batch. The RTL
    backends simulate the gateware, so their figures are simulator speed."""
    from .client import VTPU
    from .driver import available_backends
    sizes = {"model": 4000, "sim": 200, "verilator": 2000}
    out = {}
    keys = [(1, 1, 1, 1, 1, 1, 1, 1, i) for i in range(1, 9)]
    for name in available_backends():
        n = sizes[name] // (10 if quick else 1)
        with VTPU(name, sets=16, ways=2) as v:
            for k in keys:
                v.cput(k, 7)
            out[f"host.{name}.cget.ops_per_s"] = _rate(lambda i: v.cget(keys[i % 8]), range(n))
            out[f"host.{name}.cput.ops_per_s"] = _rate(lambda i: v.cput(keys[i % 8], i), range(n))
            start = time.perf_counter()
            with v.batch() as b:
                pending = [b.cget(keys[i % 8]) for i in range(n)]
            assert all(p.result() is not None for p in pending)
            out[f"host.{name}.batch.cget.ops_per_s"] = n / (time.perf_counter() - start)
    return out


def server_section(quick=False):
    """``host.server.*``: ``vtpu serve`` (the model backend) in a process of its own,
    driven over loopback by ``vtpu.httpload`` from this process, keep-alive throughout:

    * ``read.p50_ms``/``p99_ms``/``per_s``: GET /read, one client;
    * ``select.per_s`` (and p50/p99, and the server's CPU time per request):
      GET /api/v2/select, 8 clients;
    * ``update.<n>.per_s`` (and p50/p99): durable POST /api/v2/update (acknowledged
      after fsync), 8 writers, on a phext of n = 1,000 and 100,000 scrolls;
      ``update.ratio_100000_to_1000``.

    Rates are taken over the second half of each run. SQ is measured in the same
    run when an ``sq`` binary that is the phext server is on PATH; otherwise
    ``unavailable`` says so and the figures are absolute.
    """
    import os
    import shutil
    import signal
    import socket
    import subprocess
    import tempfile
    import urllib.request
    from urllib.parse import quote
    from . import httpload
    from .coord import format_coord
    from .phextio import dump_phext

    per_client = 100 if quick else 1000
    sizes = (1_000, 10_000 if quick else 100_000)
    out, notes = {}, {}
    rng = random.Random(29)
    with tempfile.TemporaryDirectory() as data:
        books = {}
        for n in sizes:
            coords = sorted({(1, 1, 1, rng.randrange(1, 1000), rng.randrange(1, 1000),
                              rng.randrange(1, 1000), 1, 1, rng.randrange(1, 1000))
                             for _ in range(int(n * 1.05))})[:n]
            while len(coords) < n:              # (a duplicate drawn: top up)
                coords.append((2, 1, 1, 1, 1, 1, 1, 1, len(coords) % 999 + 1))
            Path(data, f"s{n}.phext").write_text(dump_phext([(c, f"scroll {i} " + "x" * 40)
                                                             for i, c in enumerate(coords)]))
            books[n] = [format_coord(c) for c in coords]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        root = Path(__file__).resolve().parents[1]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(root.parent)]))
        small = sizes[0]
        child = subprocess.Popen([sys.executable, "-m", "vtpu.cli", "serve", "--port", str(port),
                                  "--data", data, "--phext", f"s{small}"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    urllib.request.urlopen(url + "/health", timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                raise LookupError("vtpu serve did not start")
            # Load the small phext (the first request to it loads it).
            urllib.request.urlopen(f"{url}/api/v2/select?p=s{small}", timeout=600).read()

            def run(make, connections, count):
                answers, errors = httpload.run("127.0.0.1", port, make, connections=connections,
                                               count=count, seconds=120)
                if errors or any(a.status != 200 for a in answers):
                    raise RuntimeError(f"bench: server answered {len(errors)} errors, statuses "
                                       f"{sorted({a.status for a in answers})}")
                return httpload.summary(answers)

            def cpu():
                fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

            coords = books[small]
            reads = [httpload.request("GET", "/read/" + c) for c in coords]
            r = run(lambda c, i: reads[i % len(reads)], 1, 5 * per_client)
            out.update({"host.server.read.p50_ms": r["p50_ms"], "host.server.read.p99_ms": r["p99_ms"],
                        "host.server.read.per_s": r["per_s"]})
            selects = [httpload.request("GET", f"/api/v2/select?p=s{small}&c={c}") for c in coords]
            before = cpu()
            r = run(lambda c, i: selects[(c * 131 + i) % len(selects)], 8, 2 * per_client)
            out.update({"host.server.select.per_s": r["per_s"],
                        "host.server.select.p50_ms": r["p50_ms"],
                        "host.server.select.p99_ms": r["p99_ms"],
                        "host.server.select.server_cpu_us": (cpu() - before) / r["count"] * 1e6})
            for n in sizes:
                names = books[n]
                urllib.request.urlopen(f"{url}/api/v2/select?p=s{n}", timeout=600).read()
                make = lambda c, i, names=names, n=n: httpload.request(  # noqa: E731
                    "POST", f"/api/v2/update?p=s{n}&c={quote(names[(c * 7919 + i * 104729) % n])}",
                    f"writer {c} update {i} ".encode() + b"y" * 40)
                r = run(make, 8, per_client)
                out.update({f"host.server.update.{n}.per_s": r["per_s"],
                            f"host.server.update.{n}.p50_ms": r["p50_ms"],
                            f"host.server.update.{n}.p99_ms": r["p99_ms"]})
            out[f"host.server.update.ratio_{sizes[1]}_to_{sizes[0]}"] = (
                out[f"host.server.update.{sizes[1]}.per_s"] / out[f"host.server.update.{small}.per_s"])
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(120)
            except subprocess.TimeoutExpired:
                child.kill()
    sq = shutil.which("sq")
    notes["server.sq"] = (
        "SQ (the phext ecosystem's Rust server) is not packaged on PyPI, Debian or npm (Debian's "
        "'sq' is Sequoia's OpenPGP tool), so no SQ figures and no ratio: absolute figures only"
        + (f"; {sq} on PATH is not SQ" if sq else ""))
    out["_unavailable"] = notes
    return out


def synth_section(quick=False):
    out = {}
    reports = sorted(REPORTS.glob("synth-*.json"))
    if not reports:
        raise LookupError("no build/reports/synth-*.json yet: run make synth BOARD=...")
    for path in reports:
        board = path.stem.removeprefix("synth-")
        for key, value in json.loads(path.read_text()).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[f"synth.{board}.{key}"] = value
            elif isinstance(value, dict):
                for sub, v in value.items():
                    if isinstance(v, (int, float)):
                        out[f"synth.{board}.{key}.{sub}"] = v
    return out


SECTIONS = [("model", model_section), ("rtl", rtl_section), ("host", host_section),
            ("server", server_section), ("synth", synth_section)]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="vtpu bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    parser.add_argument("--output", default=str(REPORTS / "bench.json"))
    parser.add_argument("--only", default=",".join(name for name, _ in SECTIONS),
                        help="comma-separated sections to run (default: all of "
                             + ", ".join(name for name, _ in SECTIONS) + ")")
    args = parser.parse_args(argv)
    chosen = set(args.only.split(","))
    if chosen - {name for name, _ in SECTIONS}:
        parser.error(f"unknown section(s): {', '.join(sorted(chosen - {n for n, _ in SECTIONS}))}")
    figures, unavailable = {}, {}
    for name, section in SECTIONS:
        if name not in chosen:
            continue
        try:
            found = section(quick=args.quick)
            unavailable.update(found.pop("_unavailable", {}))
            figures.update(found)
        except (ImportError, AttributeError, LookupError) as exc:
            unavailable[name] = f"{type(exc).__name__}: {exc}"
    report = dict(sorted(figures.items()))
    if unavailable:
        report["unavailable"] = unavailable
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=1) + "\n")
    width = max(map(len, figures), default=10)
    for key, value in sorted(figures.items()):
        shown = f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
        print(f"{key:<{width}}  {shown:>16}")
    for name, why in unavailable.items():
        print(f"{name}: unavailable ({why})")
    print(f"bench: {len(figures)} figures -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
