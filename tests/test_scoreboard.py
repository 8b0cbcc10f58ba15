"""The cocotb scoreboard's bookkeeping, checked against a second golden model
standing in for the DUT (no simulator needed)."""

from hypothesis import given, settings, strategies as st

from tb.scoreboard import Scoreboard
from tb.stimulus import Instruction, Stimulus
from vtpu.coord import parse_coord
from vtpu.frame import encode_command, encode_response
from vtpu.isa import CMD_SYNC, Op, Status
from vtpu.model import Model


def _run(instructions, *, dut=None):
    board = Scoreboard(Model(sets=4, ways=2), seed=0)
    dut = dut or Model(sets=4, ways=2)
    for index, instruction in enumerate(instructions):
        board.expect(index, instruction)
        board.receive(dut.execute(instruction.frame()))
    return board


def test_garbage_frame_with_unknown_opcode_is_not_credited_to_the_next_instruction():
    # Garbage that happens to form a good-CRC frame with an unknown opcode in
    # front of a CPUT: its BAD_OPCODE is a frame bin, never CPUT/BAD_OPCODE.
    stray = encode_command(0x7E, 9, b"")
    put = Instruction(Op.CPUT, {"coord": parse_coord("1.1.1/1.1.1/1.1.1"), "value": 5}, 1, stray)
    board = _run([put])
    assert board.checked == 1 and not board.mismatches
    hits = board.coverage.hits()
    assert hits["CPUT/OK"] == 1 and hits["frame/BAD_OPCODE"] == 1
    assert not board.coverage.unexpected()


def test_swallowed_frame_credits_no_opcode():
    # A lone sync byte makes the receiver take the CGET's own bytes as a header.
    get = Instruction(Op.CGET, {"coord": parse_coord("1.1.1/1.1.1/1.1.1")}, 3, bytes([CMD_SYNC]))
    board = _run([get])
    assert not board.mismatches
    assert not [b for b in board.coverage.hits() if b.startswith("CGET/")]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_streams_with_garbage_match_and_stay_in_reachable_bins(seed):
    stimulus = Stimulus(seed, garbage=0.3, unknown=0.05)
    board = _run([stimulus.next() for _ in range(200)])
    assert board.checked == 200 and not board.mismatches
    assert not board.coverage.unexpected()


def test_a_wrong_answer_is_reported_with_seed_and_index(capsys):
    class Broken(Model):           # forgets every stored value
        def command(self, cmd):
            if not isinstance(cmd, tuple) and cmd.op == Op.CGET:
                return encode_response(Status.NOT_FOUND, cmd.tag)
            return super().command(cmd)
    at = parse_coord("2.1.3/4.7.2/9.2.2")
    program = [Instruction(Op.CPUT, {"coord": at, "value": 42}, 4),
               Instruction(Op.CGET, {"coord": at}, 5)]
    board = _run(program, dut=Broken(sets=4, ways=2))
    assert board.checked == 2 and len(board.mismatches) == 1
    report = capsys.readouterr().out
    assert "MISMATCH at instruction 1 (replay: seed 0, index 1)" in report
    assert "CGET 2.1.3/4.7.2/9.2.2" in report and "NOT_FOUND" in report


def test_parallel_jobs_coverage_and_tallies_add_up(tmp_path):
    # make sim's jobs each write their coverage; the run is judged on the sum.
    from tb.coverage import Coverage
    from tb.run import merge_results
    puts = [Instruction(Op.CPUT, {"coord": parse_coord(f"1.1.1/1.1.1/1.1.{i}"), "value": i}, i)
            for i in range(1, 4)]
    gets = [Instruction(Op.CGET, {"coord": parse_coord("1.1.1/1.1.1/1.1.9")}, 9)]
    for name, program in (("a", puts), ("b", gets)):
        _run(program).coverage.write(tmp_path / f"{name}.json")
    ops = Model(sets=4, ways=2).ops
    alone = Coverage.merge(ops, [tmp_path / "a.json"])
    both = Coverage.merge(ops, [tmp_path / "a.json", tmp_path / "b.json"])
    assert "CGET/NOT_FOUND" in alone.missing() and "CGET/NOT_FOUND" not in both.missing()
    assert both.hits()["CPUT/OK"] == 3 and both.hits()["CGET/NOT_FOUND"] == 1
    assert "CDEL/OK" in both.missing() and not both.unexpected()
    tallies = merge_results([
        {"instructions": 10, "random": 8, "directed": 2, "mismatches": 0, "unmatched": 0,
         "clocks": 100, "seconds": 4.0},
        {"instructions": 7, "random": 7, "directed": 0, "mismatches": 1, "unmatched": 2,
         "clocks": 50, "seconds": 5.0}])
    assert tallies == {"instructions": 17, "random": 15, "directed": 2, "mismatches": 1,
                       "unmatched": 2, "clocks": 150, "seconds": 5.0}
