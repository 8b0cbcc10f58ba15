"""``make bench``: measured figures into build/reports/bench.json (a flat JSON object).

Sections, each a function returning ``{name: number}``:
  * ``model.<op>.ops_per_s``   the golden model, per instruction, direct calls
    (the range instructions at ``model.range.entries`` stored keys);
  * ``model.frames.<op>.ops_per_s``  the same through the frame path;
  * ``baseline.dict.{get,put}.ops_per_s``  a plain Python dict doing the same;
  * ``rtl.*``     cycle figures from simulation (``flow.measure.figures``);
  * ``host.<backend>.*``  ops/s through the Python client, per backend, and
    ``host.server.*`` requests/s through the HTTP server;
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


def fill_at_first_full(sentrons, sets, ways, *, keys="random", seeds=5):
    """The fraction of a table's capacity stored when a new key first answers
    TABLE_FULL, mean of ``seeds`` runs, for the model configured with that
    geometry. ``keys``: "random" (every component 0..65535) or "clustered"
    (phext-like: components 1..9, a few varying)."""
    fractions = []
    for seed in range(seeds):
        rng = random.Random(seed)
        m = Model(sentrons=sentrons, sets=sets, ways=ways)
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


def model_section(quick=False):
    n = 2000 if quick else 20000
    rng, keys = _workload(n)
    m = Model(sets=4096, ways=8)
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
    # How full a table gets before its first TABLE_FULL (the model's default
    # geometry, 64 sets x 4 ways; each build's is in its synth report)
    for kind in ("random", "clustered"):
        out[f"model.fill.{kind}"] = round(fill_at_first_full(1, 64, 4, keys=kind), 4)
    out.update(_model_range(quick))
    # The frame path: encode is done up front; execute parses, runs and answers.
    f = Model(sets=4096, ways=8)
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
    m = Model(sets=2**16, ways=8)           # room for every key: no set fills
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
    import threading
    import urllib.request
    from .client import VTPU
    from .driver import available_backends
    from .server import make_server
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
    # The HTTP server on the model: GET /read, one request per connection.
    import tempfile
    with tempfile.TemporaryDirectory() as data:
        server = make_server(port=0, data=data)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        body = b'{"coordinate": "1.1.1/1.1.1/1.1.1", "content": "bench"}'
        urllib.request.urlopen(urllib.request.Request(url + "/write", data=body, method="POST"))
        n = 50 if quick else 500
        out["host.server.read.requests_per_s"] = _rate(
            lambda i: urllib.request.urlopen(url + "/read/1.1.1/1.1.1/1.1.1").read(), range(n))
        server.shutdown()
        server.server_close()
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
            ("synth", synth_section)]


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
            figures.update(section(quick=args.quick))
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
