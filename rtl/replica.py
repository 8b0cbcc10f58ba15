"""Registers that must stay copies of one another in the netlist.

A register loaded from the same value as another is the same register to
Yosys (``opt_merge``), so copies made to be placed apart -- a dispatch
register's copy beside each sentron, so no wide enable or long net crosses the
chip -- would be folded back into one. ``replica`` marks a signal, and the
board build (``flow.build``) runs ``KEEP_REPLICAS`` after reading the design:
every flop driving a marked signal is kept as it is. Simulation needs nothing:
the copies behave alike there anyway.
"""

from amaranth.hdl import Signal

__all__ = ["replica", "ATTRIBUTE", "KEEP_REPLICAS"]

ATTRIBUTE = "vtpu_replica"

# Yosys: the flops whose Q drives a marked wire get ``keep``, which opt_merge honours.
KEEP_REPLICAS = f"setattr -set keep 1 a:{ATTRIBUTE} %ci1:+$dff,$adff[Q]"


def replica(shape=1, **kwargs):
    """A ``Signal`` whose flops the board build does not merge with their copies."""
    attrs = {**kwargs.pop("attrs", {}), ATTRIBUTE: "1"}
    return Signal(shape, attrs=attrs, **kwargs)
