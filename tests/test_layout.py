"""The layout's one rule: data walks link -> sentron -> link, and the gateware
(rtl/) never imports the tools that run it (flow/) or the testbench (tb/)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_gateware_imports_neither_flow_nor_tb():
    offenders = [(str(path.relative_to(ROOT)), name)
                 for path in (ROOT / "rtl").rglob("*.py")
                 for name in imported_modules(path)
                 if name.split(".")[0] in {"flow", "tb", "tests"}]
    assert offenders == []


def test_every_gateware_block_has_its_test():
    """One test module per gateware file, mirrored: rtl/sentron/zindex.py ->
    tests/rtl/sentron/test_zindex.py (execute.py's units are tested through the
    sequencers, replica.py through the builds)."""
    tested_elsewhere = {
        "rtl/layouts.py": "every block's test", "rtl/replica.py": "test_boards (the builds)",
        "rtl/sentron/execute.py": "the sequencers' tests", "rtl/sentron/table.py": "the sequencers'"
        " tests and test_table_mapping", "rtl/link/uart_link.py": "test_uart",
        "rtl/link/stream_register.py": "test_skid_buffer", "rtl/boards/settings.py": "test_boards",
        "rtl/boards/top.py": "test_boards and the builds"}
    untested = []
    for path in (ROOT / "rtl").rglob("*.py"):
        if path.name == "__init__.py" or str(path.relative_to(ROOT)) in tested_elsewhere:
            continue
        mirror = ROOT / "tests" / path.parent.relative_to(ROOT) / f"test_{path.stem}.py"
        if not mirror.exists():
            untested.append(str(path.relative_to(ROOT)))
    assert untested == []
