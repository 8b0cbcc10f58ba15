"""The sequencer's cycle figures: the pipeline's no-bubble claim, checked."""

from flow.measure import figures
from rtl.sentron.pipelined_sequencer import LATENCY


def test_point_and_pure_ops_issue_one_per_clock():
    out = figures(quick=True)
    for op in ("cget", "cput", "cput_overwrite", "cdel", "cdelta", "chier", "croute", "cmoe"):
        assert out[f"rtl.{op}.per_clock"] == 1.0, op
        # R1, R2, R3 and the answer register: transfer in to transfer out
        assert out[f"rtl.{op}.latency_clocks"] == 4, op
        # the ECP5's sentron: the same rate through its credits, two stages and
        # the FIFO's register more
        assert out[f"rtl.pipelined.{op}.per_clock"] == 1.0, op
        assert out[f"rtl.pipelined.{op}.latency_clocks"] == LATENCY + 1, op   # to the transfer out
    # the array adds its dispatch and collect registers, and no bubbles
    for op in ("cget", "cput", "cdel"):
        assert out[f"rtl.array4.{op}.per_clock"] == 1.0, op
        assert out[f"rtl.array4.{op}.latency_clocks"] <= 6, op
        assert out[f"rtl.pipelined.array4.{op}.per_clock"] == 1.0, op
        # the link register beside the sentron, the slice after it, the collect
        # register
        assert out[f"rtl.pipelined.array4.{op}.latency_clocks"] == LATENCY + 1 + 3, op
    # the cuckoo memory's sentron: one instruction at a time, a dozen clocks a
    # point instruction (index lookup, entry read and compare), three a pure one
    for op in ("cget", "cput", "cdel"):
        assert 0.07 < out[f"rtl.cuckoo.{op}.per_clock"] < 0.2, op
        assert out[f"rtl.cuckoo.{op}.latency_clocks"] <= 14, op
    for op in ("cdelta", "chier", "croute", "cmoe"):
        assert out[f"rtl.cuckoo.{op}.latency_clocks"] == 3, op
    # pipelined, its lookups of stored keys (and of absent ones) go at one a
    # clock: hash, index rows, entry, and the answer register
    for op in ("cget", "cput_overwrite", "cdel"):
        assert out[f"rtl.cuckoo_pipelined.{op}.per_clock"] == 1.0, op
        assert out[f"rtl.cuckoo_pipelined.{op}.latency_clocks"] == 4, op
    # new keys go through its state machine (the overwrites of a CPUT mix do
    # not); the instructions that touch no memory answer in S3
    assert out["rtl.cuckoo_pipelined.cput.per_clock"] > out["rtl.cuckoo.cput.per_clock"]
    for op in ("cdelta", "chier", "croute", "cmoe"):
        assert out[f"rtl.cuckoo_pipelined.{op}.per_clock"] == 1.0, op
    # four sentrons sharing the entries link their shares of new keys side by
    # side, each into a tree a quarter as large: more than twice one sentron's rate
    assert out["rtl.cuckoo_pipelined.array4.cput.new_keys.per_clock"] \
        > 2 * out["rtl.cuckoo_pipelined.cput.new_keys.per_clock"]
    # the mixes really mix hits and misses
    assert out["rtl.cget.hits"] > 0 and out["rtl.cget.misses"] > 0
    # CRANGE of 16 results: four times the keys cost a few clocks (one more tree
    # level), not four times the clocks
    assert out["rtl.crange.records.cap256"] == out["rtl.crange.records.cap1024"] == 16
    assert out["rtl.crange.stored.cap1024"] > 3 * out["rtl.crange.stored.cap256"]
    assert out["rtl.crange.clocks.cap1024"] < 1.25 * out["rtl.crange.clocks.cap256"]
    # the HX8K's sentron hashes each key a bit a clock (one clock a key bit, and
    # one), and its CRANGE scans the store, two clocks an entry, once a record
    # and once more to find there is none left
    # (the iCEBreaker's too, which then compares a candidate's key a 64-bit word
    # at a time; it carries CHIER UP and no CROUTE)
    for op in ("cget", "cput", "cdel"):
        assert out[f"rtl.cuckoo_hx8k.{op}.latency_clocks"] > 16 * 9 + 1, op
        assert out[f"rtl.cuckoo_spram.{op}.latency_clocks"] > 16 * 9 + 1, op
    assert "rtl.cuckoo_spram.chier.per_clock" in out
    assert "rtl.cuckoo_spram.croute.per_clock" not in out
    assert out["rtl.cuckoo_hx8k.crange.records.cap256"] == 16
    passes = 17 * 2 * 256
    assert passes <= out["rtl.cuckoo_hx8k.crange.clocks.cap256"] <= passes + 16 * 16 + 200
    # the ULX3S's scan compares in two clocks: three an entry
    assert out["rtl.cuckoo_ulx3s.crange.records.cap256"] == 16
    passes = 17 * 3 * 256
    assert passes <= out["rtl.cuckoo_ulx3s.crange.clocks.cap256"] <= passes + 16 * 16 + 200
    # the iCEBreaker's scan: 12 clocks an entry, a pass a record and one more;
    # its CDIGEST one pass, and some 240 clocks a hit (its key put in place
    # and back, and hashed with its value a bit a clock)
    assert out["rtl.cuckoo_spram.crange.records.cap256"] == 16
    passes = 17 * 12 * 256
    assert passes <= out["rtl.cuckoo_spram.crange.clocks.cap256"] <= passes + 16 * 40 + 200
    one_pass = 12 * 256
    assert one_pass + 16 * 209 <= out["rtl.cuckoo_spram.cdigest.clocks.cap256"] \
        <= one_pass + 16 * 240 + 300
    # the HX8K's CROUTE RANGE over its 16 route entries (``SerialRoutes``: 19
    # clocks an entry and 2 for the answer), after the key's hash a bit a
    # clock (16 x 9 + 1) and the multiply-high (17) every CROUTE takes
    least = 19 * 16 + 2 + 16 * 9 + 1 + 17
    assert least <= out["rtl.cuckoo_hx8k.croute_range.latency_clocks"] <= least + 10
    # the index links new keys slower than one per clock: the queue absorbs bursts
    assert 0 < out["rtl.cput.new_keys.per_clock"] < 1
    # inside a box the index answers a key a clock and the top-k unit ranks it
    assert out["rtl.cattend.clocks_per_key"] <= 1.05
