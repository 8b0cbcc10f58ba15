"""The sequencer's cycle figures: the pipeline's no-bubble claim, checked."""

from rtl.measure import figures


def test_point_and_pure_ops_issue_one_per_clock():
    out = figures(quick=True)
    for op in ("cget", "cput", "cdel", "cdelta", "chier", "croute", "cmoe"):
        assert out[f"rtl.{op}.per_clock"] == 1.0, op
        assert out[f"rtl.{op}.latency_clocks"] <= 3, op
    # the array adds its dispatch and collect registers, and no bubbles
    for op in ("cget", "cput", "cdel"):
        assert out[f"rtl.array4.{op}.per_clock"] == 1.0, op
        assert out[f"rtl.array4.{op}.latency_clocks"] <= 6, op
    # the mixes really mix hits and misses
    assert out["rtl.cget.hits"] > 0 and out["rtl.cget.misses"] > 0
