"""The four workloads the vTPU exists for, measured end to end (``make
workloads``, ``vtpu workloads``).

Each runs on the golden model and on the RTL under Verilator, checks every
answer against a reference computed apart from the vTPU in the same run,
counts the core's clocks, gives the time at each board's Fmax beside the
time its host link takes for the same bytes, and measures a baseline on this
machine in the same run:

    attention  sparse attention: CATTEND per query, CRANGE of values   numpy
    moe        mixture-of-experts routing: CMOE, CPUT, CRANGE, CGET    numpy
    graph      knowledge-graph 4-hop queries: CKG, CDELTA + CGET       networkx, a dict
    sync       agents syncing two nodes by CDIGEST bisection           etcd (3 members)

Output: ``build/reports/workloads.json``, a table of claim against
measurement, and a PNG plot per workload (``build/reports/workloads-*.png``).
"""

import argparse
import json
import sys
import time
from pathlib import Path

from importlib import import_module

from .common import BACKENDS, NAMES, add_arguments

__all__ = ["WORKLOADS", "run", "run_from_args", "main"]

WORKLOADS = NAMES     # each a module here; imported when run (networkx, matplotlib are slow)


def run(names=tuple(WORKLOADS), size=1, backends=BACKENDS, log=print):
    results = {}
    for name in names:
        start = time.perf_counter()
        workload = import_module(f".{name}", __name__)
        results[name] = workload.run(size=size, backends=backends, log=log)
        results[name]["seconds"] = time.perf_counter() - start
        log(f"{name}: done in {results[name]['seconds']:.0f} s: {results[name]['verdict']}")
    return results


def mismatches(result):
    return sum(b["checks"]["mismatches"] for b in result["backends"].values())


def table(results):
    rows = [("workload", "seed claim", "measured", "verdict", "answers")]
    for name, r in results.items():
        compared = sum(b["checks"]["compared"] for b in r["backends"].values())
        rows.append((name, r["claim"], r["measured"], r["verdict"],
                     f"{compared - mismatches(r)}/{compared} match"))
    return "\n".join(" | ".join(row) for row in rows)


def plot(name, result, directory):
    """One PNG per workload with its curves; returns the path, or None."""
    curves = result.get("curves")
    if not curves:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(curves), figsize=(6.4 * len(curves), 4.4), squeeze=False)
    for ax, curve in zip(axes[0], curves):
        for label, points in curve["series"].items():
            xs, ys = zip(*points) if points else ((), ())
            if curve.get("bars"):
                ax.bar(xs, ys, label=label)
            else:
                ax.plot(xs, ys, marker="o", label=label)
        if curve.get("log"):
            ax.set_yscale("log")
        ax.set_title(curve["title"], fontsize=10)
        ax.set_xlabel(curve["x"])
        ax.set_ylabel(curve["y"])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = directory / f"workloads-{name}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m vtpu.workloads",
                                     description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv), parser.error)


def run_from_args(args, error):
    """Run what ``args`` ask for, write the report and plots, print the table;
    1 if any answer differed from its reference."""
    for name in args.names:
        if name not in WORKLOADS:
            error(f"workload {name!r}: choose from {', '.join(NAMES)}")
    backends = tuple(b for b in args.backends.split(",") if b)
    if not backends:
        error("--backends: name at least one of " + ", ".join(BACKENDS))
    for b in backends:
        if b not in BACKENDS:
            error(f"backend {b!r}: choose from {', '.join(BACKENDS)}")
    if args.size < 1:
        error("--size must be 1 or more")
    results = run(args.names or tuple(WORKLOADS), size=args.size, backends=backends,
                  log=lambda line: print(f"workloads: {line}", flush=True))
    report = Path(args.report)
    report.parent.mkdir(parents=True, exist_ok=True)
    for name, result in results.items():
        result["plot"] = plot(name, result, report.parent)
    report.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(table(results))
    print(f"workloads: report in {report}")
    bad = {name: mismatches(r) for name, r in results.items() if mismatches(r)}
    for name, count in bad.items():
        first = {b: r["checks"]["first_mismatches"] for b, r in results[name]["backends"].items()}
        print(f"workloads: {name}: {count} answers differ from the reference: {first}",
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
