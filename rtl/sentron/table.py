"""The table: one sentron's (valid, key, value) entries in block RAM, and the route table.

``sets`` rows of ``ways`` entries, a row read per clock through a registered
port and written a way at a time. A sequencer's compare folds in the writes
its row missed while in flight (``missed_write_layout``, ``fold_writes``), so
one instruction a clock sees every write ahead of it.

The route table holds CRTSET's range-ownership entries (CROUTE RANGE).
"""

from types import SimpleNamespace

from amaranth.hdl import Mux, Signal, Value
from amaranth.lib import data
from amaranth.lib.memory import Memory

from vtpu.isa import COORD_WIDTH, ROUTE_ENTRIES, VALUE_WIDTH

from ..layouts import coord_layout

__all__ = ["entry_layout", "missed_write_layout", "fold_writes", "table_ports", "registered_read",
           "table_groups", "route_table"]


def entry_layout(width=COORD_WIDTH, value_width=VALUE_WIDTH):
    return data.StructLayout({"valid": 1, "key": coord_layout(width), "value": value_width})


def missed_write_layout(ways, value_width):
    """A write a row missed, as the compare folds it in: the ways it wrote in the
    row's set (none if another set), whether it stored the compared key
    (``match``), a CPUT (``put``; a CDEL frees) and the value it stored."""
    return data.StructLayout({"ways": ways, "match": 1, "put": 1, "value": value_width})


def fold_writes(way, hit, free, value, writes):
    """Way ``way``'s hit, free and value bits after ``writes`` (oldest first, each a
    ``missed_write_layout``) land over the row they were compared on."""
    for write in writes:
        here = write.ways[way]
        hit = Mux(here, write.put & write.match, hit)
        free = Mux(here, ~write.put, free)
        value = Mux(here, write.value, value)
    return hit, free, value


def table_ports(m, *, sets, ways, width, value_width, second_read=False):
    """The table as one memory: returns (write port, read port), and with
    ``second_read`` a second read port after them (for the Z-order index's
    key reads: the block RAM's other port, if the first read port and the
    write port share their address). The read ports are synchronous
    (``addr``, ``en``, ``data`` a clock later)."""
    W = width
    # What the port reads while the other writes the same set never reaches
    # a compare: the pipeline folds that write in over it. So the
    # collision may read anything, and Yosys is told so (``no_rw_check``);
    # otherwise it rebuilds read-old-data in fabric, a registered copy of
    # every write and a multiplexer after the RAM (on the ECP5 ~430 flops a
    # sentron, and the four-sentron build stopped routing). With one way a
    # write covers the whole row; with more, a RAM cell could hold bits of
    # two ways and garble the one not written, so the check stays.
    m.submodules.table = table = Memory(
        shape=data.ArrayLayout(entry_layout(W, value_width), ways),
        depth=sets, init=[], attrs={"no_rw_check": 1} if ways == 1 else None)
    # One write enable per way: a write touches only its own way, so no
    # stage has to carry the whole row to write it back.
    table_w = table.write_port(granularity=1)
    table_r = registered_read(m, table)
    if second_read:
        return table_w, table_r, registered_read(m, table)
    return table_w, table_r


def registered_read(m, memory, *, addr=None, en=None, bypass=None):
    """A read port of ``memory`` with its data registered in ``m`` (``addr``,
    ``en``, ``data`` a clock later: a synchronous port's timing), new address
    and enable signals unless given. ``bypass``: (taken, data) registered instead
    of the memory's word when ``taken``.

    The port is asynchronous in the netlist and registered here: Yosys merges
    this register into the block RAM's port and only then applies
    ``no_rw_check``. A port that is already synchronous keeps its
    read-old-data rule whatever the attribute says."""
    port = memory.read_port(domain="comb")
    addr = Signal(len(port.addr)) if addr is None else addr
    en = Signal() if en is None else en
    data = Signal(port.data.shape(), reset_less=True)
    m.d.comb += port.addr.eq(addr)
    with m.If(en):
        m.d.sync += data.eq(port.data if bypass is None else Mux(bypass[0], bypass[1], port.data))
    return SimpleNamespace(addr=addr, en=en, data=data)


def table_groups(m, groups, *, sets, width, value_width, column):
    """A one-way table as ``groups`` memories side by side, each some whole block
    RAMs' worth of the row's bits (``column`` bits a block RAM), with ports of
    their own: each group can be addressed and written from registers placed by
    it. Returns (write ports, read addresses, the row read): the row as
    ``table_ports``' port has it, a clock after its address. (One way: a write
    covers the row, so ``no_rw_check`` holds as it does there.)"""
    row_shape = data.ArrayLayout(entry_layout(width, value_width), 1)
    columns = -(-row_shape.size // column)
    per_group = -(-columns // groups) * column
    bounds = [(lo, min(lo + per_group, row_shape.size))
              for lo in range(0, row_shape.size, per_group)]
    assert len(bounds) == groups, "more groups than the row has block RAMs for"
    writes, addrs = [], []
    row = Signal(row_shape, reset_less=True)
    for g, (lo, hi) in enumerate(bounds):
        memory = Memory(shape=hi - lo, depth=sets, init=[], attrs={"no_rw_check": 1})
        m.submodules[f"table{g}"] = memory
        writes.append(memory.write_port())
        # asynchronous and registered here (why: ``registered_read``)
        read = memory.read_port(domain="comb")
        addrs.append(read.addr)
        m.d.sync += Value.cast(row)[lo:hi].eq(read.data)
    return writes, addrs, row


def route_table(m, width):
    """The route table (CRTSET writes it, CROUTE RANGE scans it): returns (write
    port, read port)."""
    m.submodules.routes = routes = Memory(
        shape=data.StructLayout({"bound": coord_layout(width), "node": 16}),
        depth=ROUTE_ENTRIES, init=[])
    route_w = routes.write_port()
    route_r = routes.read_port(transparent_for=(route_w,))
    return route_w, route_r
