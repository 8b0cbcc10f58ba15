"""The ``vtpu`` command. One ``_cmd_<name>`` function per subcommand.

Each subcommand registers itself in ``COMMANDS`` with a function that adds its
arguments; ``vtpu <name> --help`` describes it.
"""

import argparse
import sys
from pathlib import Path

from .asm import AsmError, assemble, assemble_program, disassemble, format_response
from .frame import parse_responses

COMMANDS = {}


def command(name, help):
    def register(add_arguments):
        def wrap(handler):
            COMMANDS[name] = (help, add_arguments, handler)
            return handler
        return wrap
    return register


def _read_program(path):
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise SystemExit(f"vtpu: cannot read {path}: {exc.strerror}")


@command("asm", "assemble a program into command frames")(
    lambda p: (p.add_argument("program", help="source file (.vasm)"),
               p.add_argument("-o", "--output", help="output file (default: stdout, hex)")))
def _cmd_asm(args):
    frames = assemble(_read_program(args.program), filename=args.program)
    if args.output:
        Path(args.output).write_bytes(frames)
    else:
        print(frames.hex())
    return 0


@command("disasm", "disassemble command frames back into a program")(
    lambda p: p.add_argument("frames", help="binary file of command frames ('-' for stdin)"))
def _cmd_disasm(args):
    data = sys.stdin.buffer.read() if args.frames == "-" else Path(args.frames).read_bytes()
    sys.stdout.write(disassemble(data))
    return 0


def _add_backend(p):
    p.add_argument("--backend", default="model",
                   help="model (default), sim, verilator or serial")
    p.add_argument("--port", dest="serial_port", default=None, help="serial device for --backend serial")
    p.add_argument("--sets", type=int, default=64, help="table sets per sentron (default 64)")
    p.add_argument("--ways", type=int, default=4, help="table ways (default 4)")
    p.add_argument("--sentrons", type=int, default=1, help="sentrons in the array (default 1)")


def open_backend(args):
    """A driver backend: ``transact(frames) -> response bytes``."""
    from . import driver
    return driver.open_backend(args.backend, sets=args.sets, ways=args.ways,
                               sentrons=args.sentrons, port=args.serial_port)


@command("run", "run a program and print one line per response frame")(
    lambda p: (p.add_argument("program", help="source file (.vasm)"), _add_backend(p)))
def _cmd_run(args):
    text = _read_program(args.program)
    program = assemble_program(text, filename=args.program)
    frames = assemble(text, filename=args.program)
    backend = open_backend(args)
    try:
        answers = parse_responses(backend.transact(frames))
    finally:
        backend.close()
    ops = {i % 256: ins.op for i, ins in enumerate(program)}
    for response in answers:
        print(format_response(ops.get(response.tag), response))
    return 0


@command("bench", "measure the model (and RTL, synthesis) figures into build/reports/bench.json")(
    lambda p: p.add_argument("--quick", action="store_true", help="fewer iterations"))
def _cmd_bench(args):
    from . import bench
    return bench.main(["--quick"] if args.quick else [])


def build_parser():
    parser = argparse.ArgumentParser(prog="vtpu", description="vTPU host tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help, add_arguments, handler) in COMMANDS.items():
        p = sub.add_parser(name, help=help, description=help)
        add_arguments(p)
        p.set_defaults(handler=handler)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except AsmError as exc:
        print(f"vtpu: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
