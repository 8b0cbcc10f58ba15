"""vTPU: a coordinate-addressed memory processor. Host-side package.

``from vtpu import VTPU`` gives the client (see ``vtpu.client``).
"""

from .client import VTPU, BadArgument, NotFound, Overflow, TableFull, Unsupported, VTPUError

__all__ = ["VTPU", "VTPUError", "NotFound", "TableFull", "Overflow", "BadArgument", "Unsupported"]
