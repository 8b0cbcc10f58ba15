"""Board settings: PLL dividers for a chosen core clock, and the synthesis report's verdicts."""

import subprocess

import pytest

from rtl.boards import BOARDS, ecp5_pll_hz, ice40_filter_range, ice40_pll_hz, pll_settings
from flow.build import (driver_module, format_table, lut_mapping_script, parse_nextpnr_report,
                       summarize, tool_env)
from rtl.link.uart import uart_divisor

RATE = {"ice40": ice40_pll_hz, "ecp5": ecp5_pll_hz}


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_solver_finds_each_boards_target_clock(name):
    b = BOARDS[name]
    setting = pll_settings(b.family, b.osc_hz, b.clk_hz)
    assert RATE[b.family](b.osc_hz, **setting)[0] == b.clk_hz


@pytest.mark.parametrize("name, mhz", [("ulx3s-85f", 90), ("ulx3s-85f", 65), ("ulx3s-85f", 62.5),
                                       ("hx8k", 48),
                                       ("icebreaker", 24)])
def test_board_at_a_chosen_clock(name, mhz):
    b = BOARDS[name].at_clock(mhz)
    assert abs(b.clk_hz - mhz * 1e6) < 0.01 * mhz * 1e6
    # the UART (on the host link's clock) still keeps its bit time within 2%
    assert b.divisor == uart_divisor(b.host_hz, b.baud)
    assert abs(b.divisor / b.host_hz * b.baud - 1) < 0.02
    if b.host_mhz is not None:     # the ECP5's CLKOS: the same VCO divided further
        assert ecp5_pll_hz(b.osc_hz, **b.pll)[1] / b.host_pll_div == b.host_hz
    assert b.entries == BOARDS[name].entries


def test_unreachable_clock_gives_the_nearest_legal_setting():
    setting = pll_settings("ice40", 12e6, 1e6)        # below the PLL's range
    out, vco = ice40_pll_hz(12e6, **setting)
    assert 533e6 <= vco <= 1066e6 and out > 1e6


def test_filter_range_follows_the_pfd():
    assert ice40_filter_range(12e6, 0) == 1            # 12 MHz (icepll)
    assert ice40_filter_range(30e6, 0) == 3
    assert ice40_filter_range(120e6, 0) == 6


def report_for(name, clock_mhz, achieved, host_achieved=None):
    b = BOARDS[name].at_clock(clock_mhz)
    fmax = {"clk": {"achieved_mhz": achieved, "constraint_mhz": b.clk_hz / 1e6}}
    if host_achieved is not None:
        fmax["host_clk"] = {"achieved_mhz": host_achieved, "constraint_mhz": b.host_hz / 1e6}
    nextpnr = {"fmax": fmax, "utilization": {}, "critical_paths": []}
    core = {"core": "VTPU", "sentrons": b.sentrons, "entries": b.entries,
            "memory": "cuckoo" if b.memory else "set-associative", "sets": b.sets or 0,
            "ways": b.ways or 0, "ops": []}
    return summarize(b, core, nextpnr, {})


def test_report_tells_the_built_clock_from_the_target():
    r = report_for("ulx3s-85f", 90, 95.0)
    assert r["timing_met"] and not r["target_met"] and r["target_mhz"] == 125
    assert "125 MHz (design brief), not met" in format_table(r)
    r = report_for("ulx3s-85f", 125, 120.0)
    assert not r["timing_met"] and not r["target_met"]
    assert "design brief" not in format_table(r)


def test_the_target_is_the_core_clocks_and_every_clock_must_meet_its_own():
    pipelined = "ulx3s-85f-pipelined"
    assert BOARDS[pipelined].at_clock(125).host_hz == 625e6 / 16   # the VCO / 16: 13 clocks a bit
    assert BOARDS[pipelined].host_hz == 600e6 / 18     # at its 100 MHz: the VCO / 18
    # at 60 MHz: the VCO (25 MHz * 12 / 5 * 10) / 22, 9 clocks a bit
    assert BOARDS["ulx3s-85f"].host_hz == pytest.approx(25e6 / 5 * 12 * 10 / 22)
    assert BOARDS["ulx3s-85f"].divisor == 9
    r = report_for(pipelined, 125, 126.0, host_achieved=70.0)
    assert r["timing_met"] and r["target_met"] and r["host_clock_mhz"] == 39.062
    r = report_for(pipelined, 125, 126.0, host_achieved=38.0)
    assert not r["timing_met"] and not r["target_met"]
    assert "host_clk" in format_table(r) and "MISSED" in format_table(r)
    r = report_for(pipelined, 125, 120.0, host_achieved=90.0)
    assert not r["timing_met"] and not r["target_met"]


def test_the_reported_critical_path_is_the_one_with_least_slack_not_the_longest():
    b = BOARDS["ulx3s-85f"]
    fmax = {"$glbnet$clk": {"achieved_mhz": 80.0, "constraint_mhz": 125.0},
            "$glbnet$host_clk": {"achieved_mhz": 70.0, "constraint_mhz": 62.5}}

    def path(clock, delay):
        return {"from_clock": f"posedge {clock}", "to_clock": f"posedge {clock}", "delay_ns": delay,
                "logic_ns": 1.0, "routing_ns": delay - 1.0, "levels": 2, "from": clock, "to": "x",
                "nets": []}
    nextpnr = {"fmax": fmax, "utilization": {},
               "critical_paths": [path("$glbnet$host_clk", 14.2), path("$glbnet$clk", 12.5)]}
    core = {"core": "VTPU", "sentrons": 4, "entries": 8192, "sets": 2048, "ways": 1, "ops": []}
    # 14.2 ns against the host link's 16 ns is met; 12.5 ns against 8 ns is not
    assert summarize(b, core, nextpnr, {})["critical_path"]["from"] == "$glbnet$clk"


def test_driver_module_stops_at_names_yosys_made_up():
    assert driver_module("link.core.array.slice1.o__valid_LUT4_C") == "link.core.array.slice1"
    assert driver_module("link.core.array.sentron0.answers.storage.0.88_DO_LUT4_B_Z") == \
        "link.core.array.sentron0.answers.storage"
    assert driver_module("link.core.array.o__payload$72.coord[8]_TRELLIS_FF_Q_2_DI") == "link.core.array"
    assert driver_module("clk_TRELLIS_FF_Q") == "(top)"


def test_slow_routes_counts_register_inputs_routed_over_half_a_period_per_block():
    def net(driver, *delays, clock="clk"):
        return {"driver": driver, "net": driver + "_Z", "port": "Q",
                "endpoints": [{"cell": "x", "port": "D", "event": f"posedge {clock}",
                               "delay": [d * 0.9, d]} for d in delays]}
    report = {
        "fmax": {"clk": {"achieved": 80.0, "constraint": 125.0},       # half period 4 ns
                 "host": {"achieved": 70.0, "constraint": 62.5}},      # 8 ns
        "detailed_net_timings": [
            net("core.array.head_LUT4", 4.5, 3.9, 7.0),                # two over 4 ns
            net("core.array.slice1.valid_LUT4", 4.1),
            net("core.encoder.byte_LUT4", 7.5, clock="host"),          # under its 8 ns
            net("core.decoder.state_LUT4", 4.2, clock="unconstrained"),   # no such clock
        ],
    }
    slow = parse_nextpnr_report(report)["slow_routes"]
    assert slow["over_half_period"] == 3
    assert slow["by_block"] == [
        {"block": "core.array", "endpoints": 2, "worst_ns": 7.0, "worst_net": "core.array.head_LUT4_Z"},
        {"block": "core.array.slice1", "endpoints": 1, "worst_ns": 4.1,
         "worst_net": "core.array.slice1.valid_LUT4_Z"},
    ]
    # without --detailed-timing-report there is nothing to count, and the table says nothing
    assert parse_nextpnr_report({"fmax": report["fmax"]})["slow_routes"] == {}
    r = report_for("ulx3s-85f", 125, 80.0)
    assert "slow routes" not in format_table(r)
    r["slow_routes"] = slow
    assert "3 register inputs routed in more than half a clock period" in format_table(r)
    assert "core.array: 2 (worst 7.0 ns)" in format_table(r)


@pytest.mark.parametrize("name", ["ulx3s-85f", "ulx3s-85f-pipelined"])
def test_ulx3s_floorplan_gives_each_sentron_a_block_of_its_own(name):
    from amaranth.hdl import Shape
    from flow.build import floorplan_script
    from rtl.sentron.table import entry_layout
    from vtpu.isa import COORD_WIDTH, VALUE_WIDTH
    b = BOARDS[name]
    floorplan = b.constraints()["FLOORPLAN"]
    assert b.constraints()["DRIVE_HIGH"] == ["wifi_gpio0"]
    # an entry store or a table row is this many DP16KDs wide (2048 x 9 each),
    # one site each
    width = -(-Shape.cast(entry_layout(COORD_WIDTH, VALUE_WIDTH)).width * (b.ways or 1) // 9)
    assert b.entries // b.sentrons // (b.ways or 1) == 2048
    assert len(set(floorplan.values())) == len(floorplan) == b.sentrons * width
    per_group = -(-width // b.table_groups)
    # the table's memories: ``table`` alone, or ``table0``, ``table1``, ... (``table_groups``)
    names = ["table"] if b.table_groups == 1 else [f"table{g}" for g in range(b.table_groups)]
    blocks = []
    for k in range(b.sentrons):
        groups = [[floorplan[f"link.core.array.sentron{k}.{name}.0.{i}"] for i in range(per_group)]
                  for name in names]
        if b.table_groups > 1:
            # each of the table's memories in an EBR row of its own
            assert len({s.split("/")[1] for group in groups for s in group}) == b.table_groups
            assert all(len({s.split("/")[1] for s in group}) == 1 for group in groups)
        xs = [int(s.split("/")[0][1:]) for group in groups for s in group]
        blocks.append((min(xs), max(xs)))
        assert max(xs) - min(xs) < 40          # compact: not spread along a whole EBR row
    assert len(set(blocks)) > 1                # and not all in one place
    script = floorplan_script(floorplan, top="vtpu_ulx3s_85f")
    assert script.count("select -assert-count 1 vtpu_ulx3s_85f/c:") == len(floorplan)
    assert f'setattr -set BEL "X13/Y22/EBR0" vtpu_ulx3s_85f/c:link.core.array.sentron0.{names[0]}.0.0' \
        in script


def test_bracket_free_names_rewrites_names_only():
    from flow.build import bracket_free_names
    rtlil = ('  wire width 16 \\c3.coord[5]\n'
             '  connect \\c3.coord[5] [3:0] \\link0.coord[5][3] [7:4]\n'
             '  attribute \\src "rtl/x.py:12 a[1]"\n'
             '  cell $dff \\q[2]\n')
    assert bracket_free_names(rtlil) == (
        '  wire width 16 \\c3.coord<5>\n'
        '  connect \\c3.coord<5> [3:0] \\link0.coord<5><3> [7:4]\n'
        '  attribute \\src "rtl/x.py:12 a[1]"\n'
        '  cell $dff \\q<2>\n')


def test_lut_mapping_replaces_only_the_synthesis_scripts_own_lut_mapping():
    """The ULX3S build stops Yosys's synth_ecp5 before ``map_luts``, maps with ABC
    itself and resumes at ``map_cells``: the labels must exist in this Yosys, and
    ``map_luts`` must hold only what the replacement does again (else a newer
    Yosys's step would be skipped silently)."""
    board = BOARDS["ulx3s-85f-pipelined"]
    opts, commands = lut_mapping_script(board, "top")
    assert opts.endswith("-run :map_luts") and commands[-1].endswith("-run map_cells:")
    assert f"abc9 -W {board.wire_ps}" in commands
    # the ULX3S with every instruction maps with plain ABC (``Board.abc9``)
    plain = lut_mapping_script(BOARDS["ulx3s-85f"], "top")[1]
    assert "abc -lut 4:7 -dress" in plain and not any("abc9" in c for c in plain)
    env = tool_env(board)
    help_text = subprocess.run([env["YOSYS"], "-p", "help synth_lattice"], env=env,
                               capture_output=True, text=True, check=True).stdout
    script = help_text[help_text.index("    map_luts:"):help_text.index("    map_cells:")]
    steps = [line.strip().split("    (")[0] for line in script.splitlines()[1:] if line.strip()]
    assert steps == ["check -latchonly -assert", "techmap -map +/lattice/latches_map.v",
                     "abc9 -W 300", "clean"]
    assert commands[:4] == [*steps[:2], f"abc9 -W {board.wire_ps}", *steps[3:]]


def test_ice40_lut_mapping_replaces_only_synth_ice40s_own():
    """The iCEBreaker's build maps synth_ice40's LUTs itself too (``wire_ps``):
    ``map_luts`` must hold only what the replacement does again, with its wire
    delay the one changed."""
    board = BOARDS["icebreaker"]
    assert board.wire_ps is not None
    opts, commands = lut_mapping_script(board, "top")
    assert opts.endswith("-run :map_luts") and commands[-1].endswith("-run map_cells:")
    env = tool_env(board)
    help_text = subprocess.run([env["YOSYS"], "-p", "help synth_ice40"], env=env,
                               capture_output=True, text=True, check=True).stdout
    script = help_text[help_text.index("    map_luts:"):help_text.index("    map_cells:")]
    steps = [line.split("    (")[0].strip() for line in script.splitlines()[1:] if line.strip()]
    # (the two steps of -noabc are not taken)
    steps = [s for s in steps if s not in ("simplemap", "techmap -map +/gate2lut.v -D LUT_WIDTH=4")]
    assert "abc9  -W 250" in steps
    assert commands[:-1] == [f"abc9 -W {board.wire_ps}" if s == "abc9  -W 250" else s
                             for s in steps]
