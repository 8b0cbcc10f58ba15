"""The README's board x instruction table is the one rtl.boards gives."""

from flow.board_table import README, board_table, readme_table
from rtl.boards import BOARDS


def test_readme_table_matches_the_boards():
    assert readme_table(README.read_text()) == board_table()


def test_table_follows_each_boards_leave_out():
    table = board_table().splitlines()
    head = [cell.strip() for cell in table[0].strip("|").split("|")]
    for line in table[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        for name, board in BOARDS.items():
            cell = cells[head.index(name)]
            if cells[0] in {op.name for op in board.leave_out}:
                assert cell == "—", (cells[0], name)
