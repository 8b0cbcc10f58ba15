"""What ``make sim`` prints (tb/run.py): progress read from the jobs' logs, and
a failed job's log cut down to its mismatches and its end (no simulator needed)."""

from tb.run import PROGRESS_RECORD, failure_report, job_progress

RECORD = "{:>12}ns INFO     cocotb.vtpu_top                    {}"


def test_progress_lines_read_the_last_record_the_testbench_logged(tmp_path):
    log = tmp_path / "job1.log"
    assert job_progress(log) == (0, 0)                 # not started yet
    log.write_text("     0.00ns INFO     cocotb.regression                  Running tests\n")
    assert job_progress(log) == (0, 0)
    records = [PROGRESS_RECORD.format(done=done, count=3000, mismatches=bad)
               for done, bad in ((1000, 0), (2000, 3))]
    log.write_text("".join(RECORD.format(f"{n}.00", r) + "\n" for n, r in enumerate(records)))
    assert job_progress(log) == (2000, 3)


def test_a_failed_job_shows_its_mismatches_then_the_end_of_its_log():
    mismatch = ("MISMATCH at instruction 7 (replay: seed 1, index 7)\n"
                "  instruction: CGET 1.1.1/1.1.1/1.1.1\n"
                "  model answered:\n      #7 CGET NOT_FOUND\n"
                "  RTL answered:\n      #7 CGET OK value=0x1\n")
    noise = "".join(RECORD.format("0.00", f"banner {n}") + "\n" for n in range(100))
    end = (RECORD.format("90.00", "tb.test_vtpu.cross_check failed") + "\n"
           "AssertionError: 1 mismatches (first ones printed above)\n")
    report = failure_report(noise + mismatch + RECORD.format("50.00", "progress") + "\n" + end)
    lines = report.splitlines()
    assert lines[0] == "  MISMATCH at instruction 7 (replay: seed 1, index 7)"
    assert "      #7 CGET OK value=0x1" in report and "banner" not in report
    assert lines[-1] == "  | AssertionError: 1 mismatches (first ones printed above)"
    assert len(lines) == 6 + 3                         # the block, then what came after it
    # no mismatch (a crash): just the end of the log
    assert failure_report(noise + end).splitlines()[-2].endswith("cross_check failed")
    assert len(failure_report(noise + end).splitlines()) == 20
