"""ULX3S: ESP32 GPIO0 (pin L2) held high so the ESP32 does not drop into its
bootloader and reset the FPGA (as in the ULX3S examples). amaranth-boards only
offers it inside the whole "esp32" resource, whose other outputs we leave alone.

The build with every instruction has four sentrons of 2,048 entries that
scan their stores (138 DP16KDs, 39% of the LUTs). ``FLOORPLAN`` puts each
sentron's entry store (24 DP16KDs) in a block of its own, ``_BLOCKS``, as
the pipelined build does its tables: without it router2 had 25,000 wires
still overused after five passes, and router1 fell by a thousand arcs a
minute with 130,000 to go.

``_BLOCKS`` and ``ebr_sites`` are the blocks the pipelined build
(constraints/ulx3s-85f-pipelined.py) gives each of its four sentrons' tables:
one per quarter of the chip, over two EBR rows of three groups. Left to
itself nextpnr's placer scattered every sentron's block RAMs along whole
EBR rows (a sentron's 24 over 90 columns) and packed the logic into the
left 40% of the die, next to the UART pins, at up to ~90% of its LUTs;
router1 then stalled with 40k-60k arcs unrouted. Each sentron's logic
follows its RAMs.
"""

from amaranth.build import Attrs, Pins, Resource

RESOURCES = [Resource("wifi_gpio0", 0, Pins("L2", dir="o"), Attrs(IO_TYPE="LVCMOS33"))]
DRIVE_HIGH = ["wifi_gpio0"]

# The LFE5U-85F's DP16KD sites, as nextpnr names them: four EBR rows (Y), each
# of 13 groups of four (X: the group's column + 0, 2, 4, 6 -> EBR0..EBR3).
EBR_ROWS = (22, 46, 70, 82)
EBR_GROUPS = (4, 13, 22, 31, 40, 49, 58, 69, 78, 87, 96, 105, 114)


def ebr_sites(rows, groups):
    return [f"X{EBR_GROUPS[g] + 2 * i}/Y{y}/EBR{i}" for y in rows for g in groups for i in range(4)]


# sentron -> (EBR rows, groups): two rows x three groups = 24 sites each
_BLOCKS = [((22, 46), (1, 2, 3)), ((22, 46), (8, 9, 10)),
           ((70, 82), (1, 2, 3)), ((70, 82), (8, 9, 10))]

# each sentron's entry store (2048 x 9 bits a DP16KD) in its block
FLOORPLAN = {f"link.core.array.sentron{k}.table.0.{i}": site
             for k, (rows, groups) in enumerate(_BLOCKS)
             for i, site in enumerate(ebr_sites(rows, groups))}
