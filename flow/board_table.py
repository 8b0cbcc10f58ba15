"""The README's table of which instructions each build carries, from ``rtl.boards``.

    python -m flow.board_table            # print the table (Markdown)
    python -m flow.board_table --check    # exit 1 if README.md's copy differs

The table sits in README.md between the ``BOARD_TABLE`` markers; a test
(tests/flow/test_board_table.py) fails when the two differ, so the README
says what the builds carry.
"""

import argparse
import re
import sys
from pathlib import Path

from rtl.boards import BOARDS
from rtl.sentron import IMPLEMENTED_OPS, RANGE_OPS
from vtpu.isa import Op

__all__ = ["board_table", "readme_table", "BEGIN", "END"]

BEGIN, END = "<!-- BOARD_TABLE -->", "<!-- /BOARD_TABLE -->"
README = Path(__file__).resolve().parents[1] / "README.md"


def _cell(op, ops):
    if op not in ops:
        return "—"
    if op == Op.CHIER and not ops & RANGE_OPS:
        return "UP"          # DOWN is a range walk
    return "yes"


def _range_walk(ops, board):
    """How the build answers the range instructions: its Z-order index, or a
    scan of its store (``ZScan``: a pass of the store a record; ``SerialScan``:
    the same, a component a clock, and CDIGEST's hits in one pass)."""
    if not ops & RANGE_OPS:
        return "—"
    memory = board.memory or {}
    if memory.get("scan"):
        return "scan (a pass of the store a record)"
    if memory.get("spram"):
        return ("scan, a component a clock (a pass of the store a record"
                + ("; CDIGEST one pass)" if Op.CDIGEST in ops else ")"))
    return "Z-order index"


def board_table():
    """Markdown: one row per instruction; a column for the simulated core and one per board."""
    builds = [("simulation", IMPLEMENTED_OPS, None)] + [
        (name, board.ops, board) for name, board in BOARDS.items()]
    head = ["instruction"] + [name for name, _, _ in builds]
    rows = [head, ["---"] * len(head)]
    for op in Op:
        rows.append([op.name] + [_cell(op, ops) for _, ops, _ in builds])
    rows.append(["entries"] + ["any (`--entries`)"] + [
        b.memory_text for _, _, b in builds[1:]])
    # what the build's ``make synth`` report gives as ``fill``
    fills = [(b.fill(), b.entries) for _, _, b in builds[1:]]
    rows.append(["stored at the first TABLE_FULL (random keys)"] + ["—"] + [
        f"{fill:.0%} ({fill * entries:,.0f})" for fill, entries in fills])
    rows.append(["sentrons"] + ["any (`--sentrons`)"] + [str(b.sentrons) for _, _, b in builds[1:]])
    # (a new key through the cuckoo memory's state machine, pipelined or not)
    rows.append(["point instructions, each sentron"] + ["—"] + [
        b.point_rate_text for _, _, b in builds[1:]])
    rows.append(["range walk"] + ["Z-order index"] + [
        _range_walk(ops, b) for _, ops, b in builds[1:]])
    rows.append(["core clock"] + ["—"] + [f"{round(b.clk_hz / 1e6, 2):g} MHz" for _, _, b in builds[1:]])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows) + "\n"


def readme_table(text):
    """The table between the markers in ``text`` (None if the markers are missing)."""
    found = re.search(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), text, re.S)
    return found and found.group(1)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m flow.board_table",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with README.md's copy")
    args = parser.parse_args(argv)
    table = board_table()
    if not args.check:
        sys.stdout.write(table)
        return 0
    if readme_table(README.read_text()) != table:
        print(f"flow.board_table: README.md's table differs; put this between {BEGIN} and {END}:\n"
              + table, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
