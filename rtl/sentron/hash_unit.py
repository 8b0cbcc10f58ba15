"""The hash unit: H3 as constant XOR trees, then one nonlinear mixing round.

``HashUnit`` is the sentron pipeline's hash stage: a key in, its table hash
out a clock later, one key a clock, held while ``en`` is low (the pipeline it
sits in stalls it). Bit-exact with the model's ``table_hash``: H3 with the
rows of ``vtpu.hash.h3_rows(seed, in_bits, 48)``, then ``vtpu.hash.mix48``,
between the key and one register (four LUT levels of parity trees, two of
mixing).

An array hashes each coordinate once, ahead of its dispatch register, and
hands the hash to the owning sentron with the instruction (``table_hash``);
a sequencer without an array hashes into its first stage. CDIGEST's
per-entry hash is plain H3 (``h3_hash``).

``SerialHashUnit`` is the same hash a key bit a clock (``serial_h3``), for a
board whose link, not its core, sets the pace (the HX8K): H3 is the XOR of
one column of its matrix per set key bit, and the columns are a ROM in block
RAM rather than some 1,200 LUT4s of parity trees.
"""

from amaranth.hdl import Cat, Const, Elaboratable, Module, Mux, Signal
from amaranth.lib.memory import Memory

from vtpu.hash import MIX_ROTATIONS
from vtpu.isa import HASH_WIDTH

__all__ = ["h3_partials", "h3_hash", "mix48", "table_hash", "HashUnit", "serial_h3",
           "SerialHashUnit"]


def h3_partials(key, rows, chunk=32):
    """Per output bit, a list of partial parities (expressions) whose XOR is the hash bit."""
    out = []
    for row in rows:
        taps = [i for i in range(len(key)) if row >> i & 1]
        groups = [taps[k:k + chunk] for k in range(0, len(taps), chunk)] or [[]]
        out.append([Cat(*(key[i] for i in g)).xor() if g else Const(0, 1) for g in groups])
    return out


def h3_hash(key, rows):
    """The H3 hash of ``key`` in one combinational stage (one bit per row)."""
    return Cat(*(Cat(*p).xor() for p in h3_partials(key, rows)))


def mix48(m, x):
    """``vtpu.hash.mix48`` as logic driven in ``m``: chi (a 3-input function per
    bit), then each bit XORed with two others. Returns the mixed signal."""
    n = HASH_WIDTH
    a, b, c, d = MIX_ROTATIONS
    # Named signals between the steps: each bit reads three of the step
    # before, and expressions built on expressions would copy whole trees.
    linear, chi, mixed = Signal(n), Signal(n), Signal(n)
    m.d.comb += [linear.eq(x),
                 chi.eq(Cat(*(linear[i] ^ (~linear[(i + a) % n] & linear[(i + b) % n])
                              for i in range(n)))),
                 mixed.eq(Cat(*(chi[i] ^ chi[(i - c) % n] ^ chi[(i - d) % n]
                                for i in range(n))))]
    return mixed


def table_hash(m, key, rows):
    """The table hash of ``key`` in one combinational stage, driven in ``m``."""
    return mix48(m, h3_hash(key, rows))


class HashUnit(Elaboratable):
    """``key`` in, ``hash`` out a clock later, advancing while ``en``.

    ``rows`` are the H3 rows (``vtpu.hash.h3_rows(seed, len(key), 48)``): the
    seed is chosen at elaboration."""

    def __init__(self, rows, *, key_width):
        if len(rows) != HASH_WIDTH:
            raise ValueError(f"the table hash takes {HASH_WIDTH} H3 rows")
        self.rows = rows
        self.key = Signal(key_width)
        self.en = Signal()
        self.hash = Signal(HASH_WIDTH, reset_less=True)

    def elaborate(self, platform):
        m = Module()
        with m.If(self.en):
            m.d.sync += self.hash.eq(table_hash(m, self.key, self.rows))
        return m


def serial_h3(m, bits, rows, *, run, name, second=None):
    """H3 of ``bits`` (one bit per row of ``rows``) a bit a clock, driven in ``m``
    with its column ROM as submodule ``name``. From the first clock of ``run``
    (which clears the result) ``busy`` (returned with the result) is high until
    the clock the result holds the hash, ``len(bits) + 1`` clocks later; ``run``
    must stay high and ``bits`` hold until then (a run cut short leaves its
    count behind for the next). The result then holds until the next run,
    which may start in the following clock while ``run`` stays high.

    ``second``: ``(which, more_bits, more_rows)``, a second hash that shares
    the counter, the bit select and the result register: while ``which``, a
    run hashes ``Cat(bits, more_bits)`` by ``more_rows``. Its columns are in
    the same ROM, from the next power of two on; the result is as wide as the
    wider hash."""
    n = len(bits)
    hashes, which, region = [(rows, n)], Const(0, 1), n
    if second is not None:
        which, more_bits, more_rows = second
        bits = Cat(bits, more_bits)
        hashes.append((more_rows, len(bits)))
        region = 1 << (len(bits) - 1).bit_length()
    columns = []
    for hash_rows, length in hashes:
        columns += [sum(((row >> i) & 1) << j for j, row in enumerate(hash_rows))
                    for i in range(length)]
        columns += [0] * (region - length)
    width = max(len(hash_rows) for hash_rows, _ in hashes)
    m.submodules[name] = rom = Memory(shape=width, depth=len(columns), init=columns)
    column = rom.read_port()
    at = Signal(range(len(bits) + 1), name=f"{name}_at")   # the next column to read
    shown = Signal(name=f"{name}_shown")              # a column is on the port ...
    # ... and its bit, taken as the column is read: the bit select (from a
    # block RAM's port, for CDIGEST) reaches a flop, not the result's enable
    shown_bit = Signal(name=f"{name}_shown_bit")
    result = Signal(width, name=f"{name}_result")
    busy = Signal(name=f"{name}_busy")
    end = Mux(which, len(bits), n) if second is not None else n
    m.d.comb += busy.eq(run & ((at != end) | shown))
    m.d.sync += shown.eq(0)
    with m.If(run):
        with m.If(at == 0):
            m.d.sync += result.eq(0)
        with m.Elif(shown & shown_bit):
            m.d.sync += result.eq(result ^ column.data)
        with m.If(at != end):
            address = at if second is None else Cat(at[:region.bit_length() - 1], which)
            m.d.comb += [column.addr.eq(address), column.en.eq(1)]
            m.d.sync += [at.eq(at + 1), shown.eq(1), shown_bit.eq(bits.bit_select(at, 1))]
        with m.Elif(~shown):
            m.d.sync += at.eq(0)
    return result, busy


class SerialHashUnit(Elaboratable):
    """``HashUnit``'s hash a key bit a clock: ``key`` held while ``run``; ``busy``
    from the first clock of ``run`` until ``hash`` is the key's (``key_width``
    + 1 clocks), which it holds until the next run. The H3 columns in block RAM
    (144 x 48 bits: three iCE40 block RAMs); the mixing round is logic after
    them, on the held result.

    With ``digest_rows`` (the iCEBreaker's CDIGEST) it also hashes an entry:
    while ``digest``, a run hashes ``key`` then ``value`` by ``digest_rows``
    (plain H3, ``digest_hash``), in ``key_width + value_width + 1`` clocks.
    Both hashes' columns share one ROM (512 x 64 bits: eight block RAMs) and
    the key's bit select, the unit's widest part."""

    def __init__(self, rows, *, key_width, digest_rows=None, value_width=0):
        if len(rows) != HASH_WIDTH:
            raise ValueError(f"the table hash takes {HASH_WIDTH} H3 rows")
        self.rows, self.key_width, self.digest_rows = rows, key_width, digest_rows
        self.key = Signal(key_width)
        self.run = Signal()
        self.busy = Signal()
        self.hash = Signal(HASH_WIDTH)
        if digest_rows is not None:
            self.value = Signal(value_width)
            self.digest = Signal()
            self.digest_hash = Signal(len(digest_rows))

    def elaborate(self, platform):
        m = Module()
        second = None
        if self.digest_rows is not None:
            second = (self.digest, self.value, self.digest_rows)
        linear, busy = serial_h3(m, self.key, self.rows, run=self.run, name="columns",
                                 second=second)
        m.d.comb += [self.busy.eq(busy), self.hash.eq(mix48(m, linear[:HASH_WIDTH]))]
        if second is not None:
            m.d.comb += self.digest_hash.eq(linear)
        return m
