"""make bench's report: a flat JSON object of named, measured figures."""

import json

from vtpu import bench


def test_bench_writes_flat_report(tmp_path):
    # the rtl section is flow.measure.figures, which tests/flow/test_measure.py checks
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--only", "model,host,synth", "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    for op in ("cget", "cput", "cdel", "crange", "cdelta", "cnearest", "chier", "croute",
               "cattend", "cmoe", "ckg", "cdigest"):
        assert report[f"model.{op}.ops_per_s"] > 0
    assert report["baseline.dict.get.ops_per_s"] > report["model.cget.ops_per_s"] > 0
    assert all(isinstance(v, (int, float)) for k, v in report.items() if k != "unavailable")
    assert not any(k.startswith("rtl.") for k in report)


def test_bench_rejects_unknown_sections(capsys):
    import pytest
    with pytest.raises(SystemExit):
        bench.main(["--only", "model,nonsense"])
    assert "nonsense" in capsys.readouterr().err
