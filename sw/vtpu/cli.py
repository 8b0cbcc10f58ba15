"""The ``vtpu`` command. One ``_cmd_<name>`` function per subcommand.

Each subcommand registers itself in ``COMMANDS`` with a function that adds its
arguments; ``vtpu <name> --help`` describes it. Whatever a user can get wrong
(files, addresses, programs, coordinates, the server's answers) ends in one
line ``vtpu: <what went wrong>`` on stderr and a non-zero exit: ``main`` is
the one place that turns those errors into that line.
"""

import argparse
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from .asm import AsmError, assemble, assemble_program, disassemble, format_response
from .client import VTPUError
from .frame import parse_responses
from .phextio import decode_utf8
from .workloads.common import add_arguments as add_workload_arguments

COMMANDS = {}


class CliError(Exception):
    """A failure already worded for the user: ``main`` prints ``vtpu: <message>``."""


def command(name, help):
    def register(add_arguments):
        def wrap(handler):
            COMMANDS[name] = (help, add_arguments, handler)
            return handler
        return wrap
    return register


def _read_program(path):
    return decode_utf8(Path(path).read_bytes(), path)


def _write_output(path, data):
    """Bytes to the file ``path``, or to stdout for ``-``."""
    if path == "-":
        # os.write, not sys.stdout.buffer: a buffered write that a closing reader cuts
        # short returns the short count and drops the rest, where this raises EPIPE.
        sys.stdout.flush()
        rest = memoryview(data)
        while rest:
            rest = rest[os.write(sys.stdout.fileno(), rest):]
    else:
        Path(path).write_bytes(data)


@command("asm", "assemble a program into command frames")(
    lambda p: (p.add_argument("program", help="source file (.vasm)"),
               p.add_argument("-o", "--output", help="file for the binary frames, '-' for "
                              "stdout (default: the frames as one line of hex on stdout)")))
def _cmd_asm(args):
    frames = assemble(_read_program(args.program), filename=args.program)
    if args.output:
        _write_output(args.output, frames)
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
    p.add_argument("--board", default="icebreaker", help="board build behind --port (serial)")
    p.add_argument("--entries", type=int, default=None,
                   help="keys the vTPU holds (model default 256; sim and verilator: sets x ways)")
    p.add_argument("--sets", type=int, default=None,
                   help="expert: sets per sentron of the gateware's set-associative table")
    p.add_argument("--ways", type=int, default=None,
                   help="expert: ways of the gateware's set-associative table")
    p.add_argument("--sentrons", type=int, default=None,
                   help="sentrons (model, sim, verilator; default 1)")


@contextmanager
def _backend_options(args, **options):
    """``options`` plus the board and port when the backend is serial; an unknown
    ``--board`` (the serial backend looks it up by name) is a one-line error."""
    if args.backend == "serial":
        options.update(port=args.serial_port, board=args.board)
    try:
        yield options
    except KeyError as exc:
        if args.backend == "serial" and exc.args == (args.board,):
            raise CliError(f"unknown board {args.board!r} (--board)") from None
        raise


def open_backend(args):
    """A driver backend: ``transact(frames) -> response bytes``."""
    from . import driver
    with _backend_options(args, entries=args.entries, sets=args.sets, ways=args.ways,
                          sentrons=args.sentrons) as options:
        return driver.open_backend(args.backend, **options)


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


def _add_server_options(p):
    p.add_argument("--port", type=int, default=1337, help="TCP port (default 1337)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--data", default=".", help="directory of the .phext files (default .)")
    p.add_argument("--phext", default="world",
                   help="phext the prototype routes (/read, /write, /range) use (default world)")
    p.add_argument("--key", default=None, help="require this Authorization header value")
    p.add_argument("--backend", default="model", help="model (default), sim, verilator or serial")
    p.add_argument("--serial-port", default=None, help="serial device for --backend serial")
    p.add_argument("--board", default="icebreaker", help="board build behind --serial-port")
    p.add_argument("--entries", type=int, default=None,
                   help="scrolls the vTPU holds (model default 131072)")
    p.add_argument("--sets", type=int, default=None,
                   help="expert: sets of the gateware's set-associative table (sim, verilator)")
    p.add_argument("--ways", type=int, default=None,
                   help="expert: ways of the gateware's set-associative table (sim, verilator)")
    p.add_argument("--max-body", type=int, default=64 * 1024 * 1024,
                   help="largest request body in bytes; larger ones get 413 (default 64 MiB)")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds an idle connection, a request's headers or its body may take "
                        "(default 30)")
    p.add_argument("--checkpoint-bytes", type=int, default=64 * 1024 * 1024,
                   help="write the snapshot (.phext) and drop the log once the log holds this "
                        "many bytes, or twice the snapshot's size if larger (default 64 MiB)")
    p.add_argument("-v", "--verbose", action="store_true", help="log every request")


@command("serve", "serve the vTPU over HTTP: SQ's /api/v2 routes and the prototype's routes")(
    _add_server_options)
def _cmd_serve(args):
    from .server import StoreError, serve
    try:
        with _backend_options(args, sets=args.sets, ways=args.ways) as options:
            if "port" in options:               # the serial device, not the TCP port
                options["serial_port"] = options.pop("port")
            return serve(host=args.host, port=args.port, backend=args.backend, data=args.data,
                         key=args.key, phext=args.phext, verbose=args.verbose,
                         entries=args.entries, max_body=args.max_body, timeout=args.timeout,
                         checkpoint_bytes=args.checkpoint_bytes,
                         **{k: v for k, v in options.items() if v is not None})
    except StoreError as exc:               # a --phext name that is a path
        raise CliError(f"--phext: {exc}") from None


def _http(url, method="GET", body=None, key=None):
    import urllib.error
    import urllib.request
    request = urllib.request.Request(url, data=body, method=method)
    if key:
        request.add_header("Authorization", key)
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.read()
    except urllib.error.HTTPError as exc:
        raise CliError(f"{method} {url}: {exc.code} {exc.read().decode(errors='replace').strip()}")
    except urllib.error.URLError as exc:
        raise CliError(f"cannot reach {url}: {getattr(exc.reason, 'strerror', None) or exc.reason}")


def _add_remote(p, phext_default):
    p.add_argument("--url", default="http://127.0.0.1:1337",
                   help="a running `vtpu serve` (default http://127.0.0.1:1337)")
    p.add_argument("-p", "--phext", default=None,
                   help=f"phext name on the server (default: {phext_default})")
    p.add_argument("--key", default=None, help="Authorization key of the server")


@command("load", "load a .phext file into a running server (one SQ update per scroll)")(
    lambda p: (p.add_argument("file", help="the .phext file"), _add_remote(p, "the file's stem")))
def _cmd_load(args):
    from urllib.parse import quote
    from .coord import format_coord
    from .phextio import read_phext
    pairs = read_phext(args.file)
    name = args.phext or Path(args.file).stem
    base = args.url.rstrip("/") + "/api/v2"
    for coord, scroll in pairs:
        _http(f"{base}/update?p={quote(name)}&c={quote(format_coord(coord))}", "POST",
              scroll.encode("utf-8"), args.key)
    checksum = _http(f"{base}/checksum?p={quote(name)}", key=args.key).decode()
    print(f"loaded {len(pairs)} scrolls into {name}; checksum {checksum}")
    return 0


@command("dump", "write a phext held by a running server to a .phext file (or stdout)")(
    lambda p: (p.add_argument("-o", "--output", help="file to write, '-' for stdout (default: stdout)"),
               _add_remote(p, "world")))
def _cmd_dump(args):
    from urllib.parse import quote
    name = args.phext or "world"
    text = _http(f"{args.url.rstrip('/')}/api/v2/get?p={quote(name)}", key=args.key)
    if not text:
        # The SQ API answers an absent phext as an empty one: both have nothing to dump.
        raise CliError(f"no phext named {name} on {args.url} (or it holds no scrolls): "
                       f"nothing written")
    _write_output(args.output or "-", text)
    return 0


@command("bench", "measure the model, RTL, client, server and synthesis figures into "
                  "build/reports/bench.json")(
    lambda p: p.add_argument("--quick", action="store_true", help="fewer iterations"))
def _cmd_bench(args):
    from . import bench
    return bench.main(["--quick"] if args.quick else [])


@command("workloads", "run the four workloads (attention, moe, graph, sync) on the model and the "
                      "RTL against their references and baselines: build/reports/workloads.json")(
    add_workload_arguments)
def _cmd_workloads(args):
    from . import workloads

    def refuse(message):
        raise CliError(message)
    return workloads.run_from_args(args, refuse)


def _version():
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("vtpu")
    except PackageNotFoundError:          # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser():
    parser = argparse.ArgumentParser(prog="vtpu", description="vTPU host tools")
    parser.add_argument("--version", action="version", version=f"vtpu {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help, add_arguments, handler) in COMMANDS.items():
        p = sub.add_parser(name, help=help, description=help)
        add_arguments(p)
        p.set_defaults(handler=handler)
    return parser


def _describe(exc):
    """One line for an expected error: ``nosuch.phext: No such file or directory``."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename is not None else exc.strerror
    return str(exc) or type(exc).__name__


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        status = args.handler(args)
        sys.stdout.flush()                      # a closed pipe shows here, not at exit
        return status
    except BrokenPipeError:
        # The reader went away (`vtpu asm p.vasm | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141                              # 128 + SIGPIPE, what a shell shows for one
    except KeyboardInterrupt:
        return 130
    except AsmError as exc:
        print(f"vtpu: {exc}", file=sys.stderr)
        return 2
    # Bad files, addresses, programs, coordinates; backends (BackendError is a RuntimeError).
    except (CliError, OSError, ValueError, RuntimeError, VTPUError) as exc:
        print(f"vtpu: {_describe(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
