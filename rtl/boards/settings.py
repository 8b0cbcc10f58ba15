"""Board settings: each board's FPGA, clocks, PLL dividers, table geometry and the
instructions its core carries (``BOARDS``), and the PLL arithmetic behind them.
Why each board is built the way it is: ``rtl.boards``' docstring.
"""

import importlib
import runpy
from dataclasses import dataclass, replace
from pathlib import Path

from vtpu.isa import Op

from ..link.uart import uart_divisor
from ..sentron.zindex import ZIndex

__all__ = ["Board", "BOARDS", "CONSTRAINTS", "ice40_pll_hz", "ice40_filter_range", "ecp5_pll_hz",
           "pll_settings"]

CONSTRAINTS = Path(__file__).resolve().parents[2] / "constraints"


def ice40_pll_hz(osc_hz, divr, divf, divq):
    """Output and VCO frequency of an iCE40 PLL in SIMPLE feedback; checks the ranges."""
    pfd = osc_hz / (divr + 1)
    vco = pfd * (divf + 1)
    assert 10e6 <= pfd <= 133e6, f"PFD {pfd / 1e6} MHz out of range"
    assert 533e6 <= vco <= 1066e6, f"VCO {vco / 1e6} MHz out of range"
    assert 1 <= divq <= 6 and 0 <= divr <= 15 and 0 <= divf <= 127, "divider out of range"
    return vco / 2 ** divq, vco


def ice40_filter_range(osc_hz, divr):
    """The PLL loop filter setting for its PFD frequency (as icepll chooses it)."""
    pfd = osc_hz / (divr + 1) / 1e6
    return next((n for n, below in enumerate((17, 26, 44, 66, 101), 1) if pfd < below), 6)


def ecp5_pll_hz(osc_hz, clki_div, clkfb_div, clkop_div):
    """Output and VCO frequency of an ECP5 EHXPLLL fed back from CLKOP; checks the ranges."""
    pfd = osc_hz / clki_div
    out = pfd * clkfb_div
    vco = out * clkop_div
    assert 3.125e6 <= pfd <= 400e6, f"PFD {pfd / 1e6} MHz out of range"
    assert 400e6 <= vco <= 800e6, f"VCO {vco / 1e6} MHz out of range"
    assert 1 <= clki_div <= 128 and 1 <= clkfb_div <= 80 and 1 <= clkop_div <= 128, \
        "divider out of range"
    return out, vco


def pll_settings(family, osc_hz, want_hz):
    """Divider settings whose output is closest to ``want_hz`` (the lower one on a
    tie), searched over every legal setting as icepll and ecppll do; on the ECP5
    the output divider only places the VCO, nearest the middle of its range."""
    best = None
    if family == "ice40":
        candidates = (dict(divr=r, divf=f, divq=q)
                      for r in range(16) for f in range(128) for q in range(1, 7))
        rate = ice40_pll_hz
    else:
        candidates = (dict(clki_div=i, clkfb_div=f,
                           clkop_div=max(1, min(128, round(600e6 / (osc_hz / i * f)))))
                      for i in range(1, 129) for f in range(1, 81))
        rate = ecp5_pll_hz
    for setting in candidates:
        try:
            out = rate(osc_hz, **setting)[0]
        except AssertionError:
            continue
        if best is None or (abs(out - want_hz), out) < best[0]:
            best = ((abs(out - want_hz), out), setting)
    if best is None:
        raise ValueError(f"no {family} PLL setting from {osc_hz / 1e6} MHz")
    return best[1]


@dataclass(frozen=True)
class Board:
    name: str
    platform: str          # "module.Class" in amaranth_boards
    family: str            # "ice40" or "ecp5"
    osc_hz: float
    pll: dict              # divider settings, from icepll / ecppll
    baud: int
    leds: tuple            # LED numbers: heartbeat, rx, tx, error
    programmer: str        # what `make prog` runs
    # the memory: the cuckoo memory (``rtl.top.VTPU``'s ``memory``: its
    # ``entries`` in all and the model's knobs), or, when None, the
    # set-associative table of ``sets`` x ``ways`` a sentron
    memory: dict = None
    sets: int = None
    ways: int = None
    fifo_depth: int = 512
    synth_opts: str = ""   # extra synth_<family> options
    # the wire delay (ps) ABC assumes between two LUTs as it maps the logic
    # (``flow.build.lut_mapping_script``); None: Yosys's own (ECP5 300, iCE40 250)
    wire_ps: int = None
    abc9: bool = True      # ECP5 with ``wire_ps``: ABC9 maps the LUTs, else plain ABC
    pnr_opts: tuple = ()   # extra nextpnr options
    pll_pad: bool = True   # iCE40: the oscillator pin is a PLL pad (SB_PLL40_PAD)
    leave_out: frozenset = frozenset()   # instructions this board's core answers BAD_OPCODE to
    sentrons: int = 1
    pipelined: bool = False   # VTPU ``pipelined``: PipelinedSequencer sentrons
    # ECP5: the host link (UART, FIFOs, response encoder) on a clock of its own
    # near this (the PLL's CLKOS: its VCO divided); None: one clock for all.
    host_mhz: float = None
    # pipelined: each sentron's table as this many memories, each with its own
    # address and write registers (``PipelinedSequencer``); the floorplan
    # places each in a row of block RAMs of its own
    table_groups: int = 1
    ops_unit: bool = False   # SentronArray's: the instructions that are not point ones apart
    # each sentron's Z-order index queue; ``ZIndex.LUT_QUEUE`` or shorter: in LUT RAM
    index_queue: int = ZIndex.QUEUE
    seed: int = 1          # nextpnr's placement seed for ``make synth``

    @property
    def entries(self):
        if self.memory is not None:
            return self.memory["entries"]
        return self.sentrons * self.sets * self.ways

    @property
    def memory_options(self):
        """The cuckoo memory's options but its size (``entries``, and
        ``buckets`` where the board sets them): ``CuckooSequencer``'s keywords,
        as the board's core builds its sentrons."""
        return {k: v for k, v in (self.memory or {}).items() if k not in ("entries", "buckets")}

    @property
    def geometry(self):
        """The memory as ``vtpu.model.Model`` takes it (with ``sentrons``)."""
        if self.memory is not None:
            from ..top import model_memory
            return model_memory(self.memory)
        return dict(sets=self.sets, ways=self.ways)

    def fill(self):
        """The fraction of the entries stored at the first TABLE_FULL for
        random keys, from the model configured as this board (mean of 5 seeds)."""
        from vtpu.bench import fill_at_first_full
        return fill_at_first_full(sentrons=self.sentrons, **self.geometry)

    @property
    def memory_text(self):
        """The memory in a few words: its entries and how they are organised."""
        if self.memory is not None:
            return f"{self.entries:,} (cuckoo{', in SPRAM' if self.memory.get('spram') else ''})"
        return f"{self.entries:,} ({self.sentrons} x {self.sets} x {self.ways})"

    @property
    def point_rate_text(self):
        """How each sentron takes point instructions (CGET, CPUT, CDEL)."""
        if (self.memory or {}).get("pipelined"):
            return "one a clock; a new key in three at most"
        if (self.memory or {}).get("bit_serial"):
            return "one at a time, its key hashed a bit a clock"
        return "one a clock" if self.pipelined else "one at a time"

    def at_clock(self, mhz):
        """This board with its PLL set for a core clock of (about) ``mhz``."""
        return replace(self, pll=pll_settings(self.family, self.osc_hz, mhz * 1e6))

    @property
    def ops(self):
        """The instructions the board's core executes."""
        from ..sentron.execute import IMPLEMENTED_OPS
        return IMPLEMENTED_OPS - self.leave_out

    @property
    def clk_hz(self):
        if self.family == "ice40":
            return ice40_pll_hz(self.osc_hz, **self.pll)[0]
        return ecp5_pll_hz(self.osc_hz, **self.pll)[0]

    @property
    def host_domain(self):
        return "sync" if self.host_mhz is None else "host"

    @property
    def host_pll_div(self):
        """CLKOS_DIV: the VCO divided down to the clock nearest ``host_mhz`` that
        keeps the UART's bit time within its margin."""
        assert self.family == "ecp5", "a host clock of its own is an ECP5 PLL output"
        vco = ecp5_pll_hz(self.osc_hz, **self.pll)[1]
        for div in sorted(range(1, 129), key=lambda d: abs(vco / d - self.host_mhz * 1e6)):
            try:
                uart_divisor(vco / div, self.baud)
                return div
            except ValueError:
                continue
        raise ValueError(f"no host clock from a {vco / 1e6:g} MHz VCO suits {self.baud} baud")

    @property
    def host_hz(self):
        if self.host_mhz is None:
            return self.clk_hz
        return ecp5_pll_hz(self.osc_hz, **self.pll)[1] / self.host_pll_div

    @property
    def divisor(self):
        return uart_divisor(self.host_hz, self.baud)

    def platform_class(self):
        module, cls = self.platform.rsplit(".", 1)
        return getattr(importlib.import_module(f"amaranth_boards.{module}"), cls)

    def constraints(self):
        """``constraints/<board>.py``: RESOURCES to add, DRIVE_HIGH resource names,
        FLOORPLAN (netlist cell name -> nextpnr BEL it is locked to)."""
        path = CONSTRAINTS / f"{self.name}.py"
        found = runpy.run_path(str(path)) if path.exists() else {}
        return {"RESOURCES": found.get("RESOURCES", []), "DRIVE_HIGH": found.get("DRIVE_HIGH", []),
                "FLOORPLAN": found.get("FLOORPLAN", {})}

    def make_platform(self):
        platform = self.platform_class()()
        if extra := self.constraints()["RESOURCES"]:
            platform.add_resources(extra)
        return platform


BOARDS = {
    # 12 MHz * 80 / 2**5 = 30 MHz, VCO 960 MHz (icepll -i 12 -o 30); 10 clocks per bit.
    "icebreaker": Board(
        "icebreaker", "icebreaker.ICEBreakerPlatform", "ice40", 12e6,
        dict(divr=0, divf=79, divq=5), 3_000_000,
        # green on the main board, two LEDs of the break-off PMOD, red on the main board
        leds=(1, 2, 3, 0), programmer="iceprog",
        # The cuckoo memory (the set-associative 256 x 1 refused random keys
        # at 6%). The entries are in SPRAM, four 64-bit words each
        # (``SerialEntryStore``; the four SPRAMs hold 4,096), each at its
        # index slot's place: as many entries as slots, 1,024 buckets of
        # four, and no free list (``HashIndex`` ``slotted``: a slot holds its
        # tag alone, 17 BRAMs; a relocation moves the entry with its slot).
        # 78% of them, 3,198 keys, are stored at the first TABLE_FULL. With
        # entry ids in the slots, 2,048 entries (512 buckets, 14 BRAMs, and
        # the free list's 6) stored 1,657 keys in 5,190 logic cells; this
        # takes 4,744 (and 23 BRAMs). 512 buckets of eight (87%) took 5,367
        # cells, which did not place. The search stops at one move: at two
        # its nodes took the 256-entry build from 4,858 logic cells to 5,719.
        # The sentron trades clocks for logic as the HX8K's does
        # (``bit_serial``, ``hold``: ~150 clocks a point instruction, where
        # the link takes 1,800 a frame), which made room for CHIER UP.
        memory=dict(entries=4096, buckets=1024, max_moves=1, spram=True, bit_serial=True, hold=True),
        # its SPRAMs hold the entry store (``SerialEntryStore``); ABC maps the
        # LUTs assuming a nanosecond between two (``wire_ps``; synth_ice40's
        # 250 ps let it make the range walk's 16-bit thermometer a chain of
        # 12 LUTs: built for 30, 21.69 MHz with the thermometer a plain
        # suffix OR, 23.99 with it a carry chain; 29.47 with this, seed 1)
        synth_opts="-dsp -spram", wire_ps=1000,
        # 30 MHz, met at seed 2 (31.04; 5,257 of 5,280 logic cells, all 30
        # BRAMs, a 17-minute build). Three paths held it at 27 (27.51 met;
        # built for 30, 29.92 at best), and each now ends at a register: the
        # response encoder takes its answer with the last byte read from it,
        # not with the CRC byte (that byte's flag ran through the handshake
        # into the store's address); the store's key compare is registered
        # (``SerialEntryStore``: a lookup one clock more); CDELTA's overflow
        # test is a register (``settled_cdelta``). The digest's 64-bit sum is
        # added a half a clock. At 96-99% of the cells each netlist is its own
        # draw: without the last two it made 22.94 at seed 2 (the digest's
        # carry chain, split four times by the placer), and ABC's LUT count
        # moves by 150 with one flop more or less.
        # It ran at 24 once (27.83 MHz with 2,048 entries)
        # while the pattern's checks were not registered: from the held
        # instruction through the nine magnitude compares of CHIER's BAD_ARG
        # check to the answer register, 21 cells; registering them took 78
        # logic cells. The decoder keeps the pattern in the flops of the
        # coordinate, operand and argument (``FrameDecoder``'s fold: no
        # instruction here carries both), 438 logic cells fewer, which made
        # the room for the range walk.
        # CRANGE and CHIER DOWN: ``SerialScan``, a component a clock (its
        # compares 16 bits wide, the bounds turned where the decoder holds
        # them, the last and the best keys in a block RAM; docs/architecture.md),
        # 12 clocks an entry, a pass of the store a record (1.6 ms at 30 MHz,
        # where the link sends a record in some 100 us): 619 logic cells.
        # CDIGEST: every hit in one pass (the scan's ``every``), hashed where
        # its key is put for a record, by the bit-serial hash unit, whose ROM
        # holds the digest's columns beside the table hash's (8 BRAMs, were
        # 3) and whose bit select it shares: 79 logic cells (5,082), and the
        # mapping for a nanosecond between LUTs 85 more. The Z-order
        # index (a copy of every key, the tree and the update queue in BRAM,
        # ~16 for 256 keys) does not fit beside the BRAMs used, nor the
        # HX8K's scan (``ZScan``: two 144-bit Z-order compares and the box's
        # 18, ~1,500 LUT4s). CROUTE's route table is 10 BRAMs and its scan
        # two more 144-bit compares. CKG's hop unit holds MAX_HOPS deltas
        # (1152 flops); CATTEND and CNEAREST rank a CRANGE in a top-k unit of
        # their own.
        leave_out=frozenset({Op.CROUTE, Op.CRTSET, Op.CKG, Op.CATTEND, Op.CNEAREST}),
        seed=2),
    # 12 MHz * 80 / 2**4 = 60 MHz, VCO 960 MHz (icepll -i 12 -o 60); 20 clocks per bit.
    "hx8k": Board(
        "hx8k", "ice40_hx8k_b_evn.ICE40HX8KBEVNPlatform", "ice40", 12e6,
        dict(divr=0, divf=79, divq=4), 3_000_000,
        leds=(0, 1, 2, 3), programmer="iceprog", pll_pad=False,
        # The range instructions without a Z-order index (some 5,000 LUT4s
        # and 16 BRAMs, where none are left): the memory's ``scan`` (``ZScan``:
        # the store read once a hit; CDIGEST a bit a clock from a ROM of its
        # hash's columns, 4 BRAMs). Room for it came from the forms that
        # trade clocks, which the 3 Mbaud link leaves plenty of (``bit_serial``:
        # the key's table hash a bit a clock from 3 BRAMs, CMOE's multiply by
        # shifts and adds; the sentron works on the instruction where the
        # decoder holds it), and from records through the one answer register
        # load; from 9,724 logic cells (unplaceable) to 7,005, and 6,606 with
        # one move at most (two took 400 LUT4s and 210 flops more and did not
        # route in 15 minutes; random keys still fill all 256 entries).
        # CROUTE and CRTSET: the route table (16 x 160 bits, ten 16-bit-wide
        # BRAMs as one memory, where 29 of the 32 were in use: the entry
        # store 14, the index 4 with two slots a bucket, the two hash ROMs 7,
        # the free list and the UART's FIFOs the rest) in one, a component
        # an address, scanned a component a clock (``SerialRoutes``);
        # CROUTE HASH takes CMOE's shift-and-add multiply.
        # Routed for 60 MHz (seed 1) this made 45.67: the path from the entry
        # store's read port, through the candidate's key compare and the
        # FSM's choice, back to the store's address (14 cells deep, two
        # thirds of it routing). With that compare registered (a clock more a
        # candidate, ``CuckooSequencer``'s VERDICT) 48.60, the held pattern's
        # BAD_ARG compares into the answer register then the slowest; with
        # those registered during the hash 55.58, and with the serial hash's
        # bit taken as its column is read 56.43 (6,571 logic cells): the
        # store's port through ``ZScan``'s 144-bit Z-order compare. Splitting
        # that compare in registered slices made 54.07 (their merge into the
        # 145 enables of the best key). With the store's word registered
        # before ``ZScan`` compares it (the same two clocks an entry) 56.18:
        # the response encoder's ROM through its byte multiplexer into the
        # CRC and the UART's skid buffer. With that multiplexer ending at a
        # register (``ResponseEncoder``), built for 60 MHz, 58.74 at seed 1
        # and 60.16 at seed 2 (met: 6,794 logic cells, 29 BRAMs); for 57,
        # 60.37 at seed 1. The slowest path is the held command through the
        # sentron's choice of state into the entry store's read address (10
        # cells, three quarters of it routing): the margin is a placement's.
        # With the decoder's pattern fold (as on the iCEBreaker) 6,348 logic
        # cells and 62.19 MHz at seed 2 (60.58 at seed 1); the slowest path
        # is then ``ZScan``'s Z-order compare of the best key (12 cells).
        # With CROUTE and CRTSET (``SerialRoutes``), 6,875 logic cells and 30
        # BRAMs: 56.11 / 55.54 / 55.70 MHz at seeds 2 / 1 / 3, the held
        # opcode through CDIGEST's decode and the range walk's choice into
        # the store's read address (12 cells). With that decode registered,
        # and ABC mapping for a nanosecond between LUTs (``wire_ps``, as the
        # iCEBreaker: at synth_ice40's 250 ps it chained a compare through
        # 16 LUTs), 65.97 at seed 1 and 65.49 at seed 2 (met, 6,894 logic
        # cells); the slowest path is ``ZScan``'s compare of the best key
        # (17 cells, carry chains), two thirds of it routing. With a flagged
        # CROUTE RANGE answered at once (``CuckooSequencer``), 65.51 at seed
        # 1 (6,925 logic cells): the response encoder's CRC flag into the
        # sentron's answer register (8 cells). With the encoder taking its
        # answer before the CRC byte and CDELTA's overflow test registered
        # (the iCEBreaker's 30 MHz), 62.36 at seed 1 (6,903 logic cells): the
        # encoder's state through the handshake into the sentron's table
        # address (10 cells, four fifths routing).
        memory=dict(entries=256, slots=2, max_moves=1, scan=True, bit_serial=True, hold=True),
        wire_ps=1000,
        leave_out=frozenset({Op.CKG, Op.CATTEND, Op.CNEAREST})),
    # 25 MHz * 12 / 5 = 60 MHz, VCO 600 MHz; the host link at VCO / 22 =
    # 27.27 MHz (9 clocks a bit).
    "ulx3s-85f": Board(
        "ulx3s-85f", "ulx3s.ULX3S_85F_Platform", "ecp5", 25e6,
        dict(clki_div=5, clkfb_div=12, clkop_div=10), 3_000_000, sentrons=4,
        leds=(0, 1, 2, 3), programmer="openFPGALoader",
        # Every instruction, on the cuckoo memory: four sentrons of 2,048
        # entries, 97.7% of the 8,192 stored at the first TABLE_FULL (random
        # keys; a sentron fills on its own). Each sentron answers the range
        # instructions by scanning its store (``scan``: ``ZScan``, three clocks
        # an entry, below; a pass a hit: some 6,150 clocks, 103 us at 60
        # MHz, where the link moves a record in about 100 us), as the HX8K
        # does; CDIGEST's hash, CKG, CATTEND and CNEAREST are the units' in
        # front, on the host clock. 41,488 TRELLIS_COMB and 138 DP16KDs.
        # The Z-order index it had (``ZIndex``: a hit in tens of clocks, not
        # a pass) took two sentrons of 4,096 to 56,176 LUTs and 184 DP16KDs at
        # 21.875 MHz (26.39 reached); four of 2,048 did not route (88% of the
        # LUTs; docs/ecp5-timing.md).
        # Placed for 100 MHz the core made 40.52 (nextpnr's estimate): the
        # hash index's search from its row read back to its row address (14
        # logic levels), the scan's and the merge's 144-bit Z-order compares
        # (12). The merge was 26 levels combinational, its choice fed back into
        # the sentrons; it now takes a registered round (two clocks), behind a
        # register slice a sentron (``SentronArray``). The host made 26.87:
        # the top-k unit's checks of the held instruction and its choice of
        # the k-th best (19 levels, now registered). Built for 37.5 / 27.27
        # MHz (each sentron's entry store in a block of its own:
        # constraints/ulx3s-85f.py), seed 1: 50.36 / 40.78 MHz, met (the
        # core's path: the hash index's row read through its search into its
        # row address, 10 cells, 19.86 ns); built for these, 45.83 / 27.08,
        # the same (``make synth BOARD=ulx3s-85f``, 35 minutes). Router2 stalled there (6,126
        # wires overused after 17 passes, falling 2% a pass), as on the
        # indexed build; router1 routed it in about 32 minutes.
        # ``registered`` (``CuckooSequencer``): the hash index's rows, with
        # their slots' tag matches, registered before its search or answer
        # acts on them, and the scan's compares in two clocks (24-bit slices
        # registered, then merged; an entry every three clocks: a pass 6,150
        # clocks, 134 us); with the array's merge in two clocks a round and a
        # register slice before the answer FIFO (every array's), 14 logic
        # levels at most became 11 (``flow.levels``) and, built for 45.83 /
        # 27.08, the core reached 61.82 and the host 44.11 MHz, met, in
        # 41,488 TRELLIS_COMB and 23,226 FFs (71 minutes beside other jobs;
        # before the key compare's slices, the index's command without an
        # enable and its nodes from registers). Its slowest path is then a
        # sentron's state into the dispatcher's held instruction, 5 cells
        # and 14 ns of routing across the chip; the deepest logic the
        # sentron's answer multiplexer (c -> o.payload, 11 levels). All of
        # it built for 60 / 27.27 MHz (seed 1): 60.19 / 45.06, met, in 40,875
        # TRELLIS_COMB and 23,466 FFs (67 minutes beside CI); the slowest
        # path a sentron's instruction register into its answer register's
        # enable, 8 cells, 14.2 of its 16.61 ns routing. With a flagged CROUTE
        # RANGE answered at once, 61.13 / 39.54 MHz (41,234 TRELLIS_COMB).
        memory=dict(entries=8192, scan=True, registered=True),
        pnr_opts=("--router", "router1"),
        wire_ps=1000,              # as the pipelined build's (below)
        # ABC9 ran for most of an hour over the indexed build's 356k AND gates
        abc9=False,
        # UART, FIFOs, decoder, encoder and the units in front (CKG, CATTEND,
        # CNEAREST, CDIGEST) on the host's clock (CLKOS)
        host_mhz=27),
    # 25 MHz * 4 = 100 MHz, VCO 600 MHz; the host link at VCO / 18 = 33.33 MHz.
    # The brief's 125 MHz (25 * 5, VCO 625, host VCO / 16 = 39.06 MHz) was met
    # with the H3 hash (125.05 / 129.33 MHz at seeds 1 / 2) and is missed with
    # the nonlinear table hash (109.42 / 114.23): docs/ecp5-timing.md. Placed
    # for 100 MHz, seed 1 reaches 123.84.
    "ulx3s-85f-pipelined": Board(
        "ulx3s-85f-pipelined", "ulx3s.ULX3S_85F_Platform", "ecp5", 25e6,
        dict(clki_div=1, clkfb_div=4, clkop_div=6), 3_000_000, sentrons=4, sets=2048, ways=1,
        leds=(0, 1, 2, 3), programmer="openFPGALoader",
        # The set-associative table: the cuckoo memory has no pipelined
        # sentron yet. A build for a clock, not for keys: it refuses random
        # keys at about 1% of its 8,192 entries.
        # The range index needs ~32 DP16KDs per 2048-slot sentron (a key copy of
        # 16, the tree, the queue): 4 x 32 + the 98 in use exceeds the 208.
        # pipelined: sentrons that never stall (``PipelinedSequencer``); the
        # stalling ones made 70 MHz at best. The table's read port carries no
        # read-old-data logic (``no_rw_check``, rtl/sentron/table.py): with it the
        # four-sentron build stopped routing.
        # CKG's hop unit works on the host's clock, in front of the command
        # crossing (``rtl.top``); CATTEND and CNEAREST rank a CRANGE.
        leave_out=frozenset({Op.CRANGE, Op.CDIGEST, Op.CATTEND, Op.CNEAREST}), pipelined=True,
        # router2 converges on this design in minutes once the floorplan
        # (constraints/ulx3s-85f.py) keeps each sentron together; router1 stalled
        # at 75k unrouted arcs on the same placement.
        pnr_opts=("--router", "router2"),
        # ABC maps the logic assuming a nanosecond between LUTs, not 300 ps: fewer
        # levels (103.92 MHz against 98.20 at the same RTL, seed 1).
        wire_ps=1000,
        # The byte-serial blocks (UART, FIFOs, decoder, answer collector,
        # encoder) at 39 MHz (CLKOS): a 3 Mbaud byte is 130 of its clocks. At
        # 62.5 the collector, merging four answer streams from across the
        # chip, missed it (60.75 MHz); at 48.08, with five (the ops unit),
        # 47.29 at seed 1.
        host_mhz=39,
        # one per EBR row of the sentron's block (constraints/ulx3s-85f.py): from
        # one register the read address crossed all 24 DP16KDs (8.78 ns, one net)
        table_groups=2,
        # Sentron 0 with every opcode had twice another's flops (5,542), its
        # pipeline spread over the block its table RAMs span: the slowest paths
        # were all in it.
        ops_unit=True,
        # Rebuilt 2026-12-07 (17,360 LUTs, 18,190 FFs, 98 DP16KDs): 107.15 /
        # 44.04 MHz at seed 2, met; seed 1 made 73.39, its slowest path one
        # net, the ops unit's scan flag into the write enables of its answer
        # FIFO's LUT RAM, 12.47 ns of wire across the chip.
        seed=2),
}
