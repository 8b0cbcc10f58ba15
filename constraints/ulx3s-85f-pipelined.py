"""The pipelined ULX3S build: the ULX3S's pins (constraints/ulx3s-85f.py) and
each sentron's table in the same block of its own, as two memories
(``table_groups``) of 12 DP16KDs, one per EBR row of the block.
"""

import runpy
from pathlib import Path

_ULX3S = runpy.run_path(str(Path(__file__).with_name("ulx3s-85f.py")))
RESOURCES, DRIVE_HIGH = _ULX3S["RESOURCES"], _ULX3S["DRIVE_HIGH"]

FLOORPLAN = {
    f"link.core.array.sentron{k}.table{g}.0.{i}": site
    for k, (rows, groups) in enumerate(_ULX3S["_BLOCKS"]) for g, row in enumerate(rows)
    for i, site in enumerate(_ULX3S["ebr_sites"]((row,), groups))
}
