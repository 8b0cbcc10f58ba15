"""A small HTTP/1.1 load generator for loopback measurements and tests.

Each of ``connections`` clients keeps one connection alive (TCP_NODELAY) and
sends one request at a time, waiting for its answer: ``make(client, i)``
returns the request bytes for the client's i-th request. Answers are parsed
just enough to find their end (``Content-Length``). Every answer is recorded
as ``(client, i, status, body, start, end)`` (times from ``time.perf_counter``).

Used by ``vtpu.bench`` (``host.server.*``) and the server's reliability tests;
meant for loopback only, and bounded by a request count and a time limit.
"""

import asyncio
import socket
import time

__all__ = ["request", "run", "Answer", "summary"]


def request(method, path, body=b"", headers=()):
    """The bytes of one HTTP/1.1 request (keep-alive)."""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    head += [f"{k}: {v}" for k, v in headers]
    if body or method == "POST":
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Answer(tuple):
    __slots__ = ()
    client = property(lambda s: s[0])
    index = property(lambda s: s[1])
    status = property(lambda s: s[2])
    body = property(lambda s: s[3])
    start = property(lambda s: s[4])
    end = property(lambda s: s[5])


async def _read_answer(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        length = int(lower[at + 17:lower.index(b"\r\n", at + 17)])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _client(host, port, number, make, count, deadline, answers, errors):
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        errors.append((number, -1, exc))
        return
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        for i in range(count):
            if time.perf_counter() > deadline:
                break
            data = make(number, i)
            start = time.perf_counter()
            writer.write(data)
            try:
                status, body = await _read_answer(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                errors.append((number, i, exc))
                break
            answers.append(Answer((number, i, status, body, start, time.perf_counter())))
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


async def run_async(host, port, make, *, connections=1, count=1000, seconds=60.0):
    answers, errors = [], []
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(_client(host, port, c, make, count, deadline, answers, errors)
                           for c in range(connections)))
    return answers, errors


def run(host, port, make, *, connections=1, count=1000, seconds=60.0):
    """Run the clients to ``count`` requests each (or ``seconds``): (answers, errors)."""
    return asyncio.run(run_async(host, port, make, connections=connections, count=count,
                                 seconds=seconds))


def summary(answers):
    """Latency percentiles (ms) over all answers, and the rate (answers/s) sustained over
    the second half of the run (by completion time), as the project's figures are taken."""
    if not answers:
        return {"count": 0}
    latency = sorted(a.end - a.start for a in answers)
    ends = sorted(a.end for a in answers)
    half = len(ends) // 2
    span = ends[-1] - ends[half] if len(ends) > 2 else 0
    rate = (len(ends) - 1 - half) / span if span > 0 else float("nan")
    pick = lambda q: latency[min(len(latency) - 1, int(q * len(latency)))] * 1e3  # noqa: E731
    return {"count": len(answers), "p50_ms": pick(0.50), "p99_ms": pick(0.99),
            "max_ms": latency[-1] * 1e3, "per_s": rate}
