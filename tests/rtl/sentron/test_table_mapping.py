"""How Yosys sees the sequencer's table: a synchronous read port whose colliding
read is a don't-care (one way), so the block RAM needs no read-old-data logic
rebuilt in fabric around it. Checked on the real synthesis flow (YoWASP Yosys,
``synth_ecp5`` up to RAM mapping), where a port that stays asynchronous or keeps
its collision rule would cost a registered copy of every write and a
multiplexer after the RAM."""

import re
import subprocess

import pytest
from amaranth.back import rtlil

from rtl.array import POINT_OPS
from rtl.boards import BOARDS
from flow.build import tool_env
from rtl.sentron.sequencer import Sequencer


def table_port(tmp_path, ways):
    """The read port parameters of the table's ``$mem_v2`` cell after Yosys's
    memory passes (before it maps memories to cells)."""
    design = tmp_path / "sequencer.il"
    design.write_text(rtlil.convert(Sequencer(sets=64, ways=ways, ops=POINT_OPS), name="seq"))
    script = f"read_rtlil {design.name}; synth_ecp5 -top seq -run begin:map_ram; dump t:$mem_v2"
    env = tool_env(BOARDS["ulx3s-85f"])      # the Yosys ``make synth`` runs
    run = subprocess.run([env["YOSYS"], "-p", script], env=env,
                         cwd=tmp_path, capture_output=True, text=True, check=True)
    cells = run.stdout.split("cell $mem_v2 ")
    table = next(cell for cell in cells[1:] if cell.startswith("\\table"))
    return dict(re.findall(r"parameter \\(RD_\w+) (\S+)", table))


@pytest.mark.parametrize("ways, collision_free", [(1, "1'1"), (2, "1'0")])
def test_read_port_merged_and_collision(tmp_path, ways, collision_free):
    port = table_port(tmp_path, ways)
    assert port["RD_CLK_ENABLE"] == "1'1"            # the sequencer's register is the RAM's
    assert port["RD_TRANSPARENCY_MASK"] == "1'0"
    # one way: a colliding read may return anything (R2 folds the write over it);
    # more ways keep read-old-data (a RAM cell may hold bits of two ways)
    assert port["RD_COLLISION_X_MASK"] == collision_free
