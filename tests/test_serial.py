"""The serial backend over a real pseudo-terminal.

No board is attached in CI, so the far end of the pty is played by the golden
model configured as the iCEBreaker build (geometry and instruction set from
``rtl.boards``); the host side is the real pyserial code path. The UART
gateware itself is tested bit by bit in tests/rtl/link/test_uart.py.
"""

import os
import pty
import threading
import tty

import pytest

from rtl.boards import BOARDS
from rtl.sentron.execute import IMPLEMENTED_OPS
from vtpu import VTPU, NotFound, Unsupported
from vtpu.driver import BackendError, open_backend
from vtpu.model import Model


@pytest.fixture
def board_on_pty():
    board = BOARDS["icebreaker"]
    model = Model(sentrons=board.sentrons, **board.geometry, ops=IMPLEMENTED_OPS - board.leave_out)
    master, slave = pty.openpty()
    tty.setraw(slave)
    stop = threading.Event()

    def far_end():
        while not stop.is_set():
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            answer = model.execute(data)
            if answer:
                os.write(master, answer)

    thread = threading.Thread(target=far_end, daemon=True)
    thread.start()
    yield os.ttyname(slave), model
    stop.set()
    os.close(slave)
    os.close(master)


def test_client_over_serial_gets_the_models_answers(board_on_pty):
    port, model = board_on_pty
    with VTPU("serial", port=port, board="icebreaker") as v:
        assert v.backend.capacity == BOARDS["icebreaker"].entries == 4096
        v.cput("1.2.3/4.5.6/7.8.9", "over the wire")
        assert v.cget("1.2.3/4.5.6/7.8.9") == "over the wire"
        with pytest.raises(NotFound):
            v.cget("9.8.7/6.5.4/3.2.1")
        with pytest.raises(Unsupported):           # left out of the UP5K build
            v.croute("1.2.3/4.5.6/7.8.9", 4)
        with v.batch() as b:
            many = [b.cput((i, 1, 1, 1, 1, 1, 1, 1, 1), i) for i in range(1, 60)]
        assert sum(1 for p in many if _ok(p)) == sum(
            1 for i in range(1, 60) if (i, 1, 1, 1, 1, 1, 1, 1, 1) in model.data)


def _ok(pending):
    try:
        pending.result()
        return True
    except Exception:
        return False


def test_serial_reports_a_missing_port_clearly():
    with pytest.raises(BackendError, match="cannot open /dev/nonexistent-vtpu"):
        open_backend("serial", port="/dev/nonexistent-vtpu")


def test_silent_device_times_out_with_a_count(tmp_path):
    master, slave = pty.openpty()
    tty.setraw(slave)
    try:
        backend = open_backend("serial", port=os.ttyname(slave))
        backend.timeout = 0.5
        from vtpu.frame import command_frame
        from vtpu.isa import Op
        with pytest.raises(BackendError, match="1 of 1 answers missing"):
            backend.transact(command_frame(Op.CGET, 0, coord=(1,) * 9))
        backend.close()
    finally:
        os.close(slave)
        os.close(master)
