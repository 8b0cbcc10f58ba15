"""SerialRoutes against a brute force of CROUTE RANGE: the entry with the
greatest Z-order bound at or below the coordinate among the first n (the
lowest index on a tie), after random CRTSETs; and how long a scan takes."""

import random

import pytest

from rtl.sentron.serial_routes import SerialRoutes
from vtpu.isa import DIMS, ROUTE_ENTRIES

from range_script import z_key
from sim_helpers import run_sim


def owner(table, coord, n):
    """(found, node), from the Morton numbers of the bounds and the coordinate."""
    best = None
    for index, (bound, node) in enumerate(table[:n]):
        if z_key(bound) <= z_key(coord) and (best is None or z_key(bound) > z_key(best[0])):
            best = (bound, node)
    return (False, None) if best is None else (True, best[1])


async def request(ctx, dut, name, clocks, **operands):
    """Hold a request until ``done``, take the answer; returns (found, owner, clocks)."""
    for port, value in operands.items():
        ctx.set(getattr(dut, port), value)
    ctx.set(getattr(dut, name), 1)
    for clock in range(clocks):
        done, found, node = ctx.get(dut.done), ctx.get(dut.found), ctx.get(dut.owner)
        if done:
            ctx.set(dut.taken, 1)
            await ctx.tick()
            ctx.set(dut.taken, 0)
            ctx.set(getattr(dut, name), 0)
            return found, node, clock
        await ctx.tick()
    raise AssertionError(f"{name} not done after {clocks} clocks")


@pytest.mark.parametrize("seed,spread", [(1, 4), (2, 65536), (3, 2)])
def test_random_against_brute_force(seed, spread):
    """Bounds and coordinates from a few values a component (``spread``: many
    ties and equal components) or the whole range; every count 1..16, and
    entries rewritten between scans."""
    rng = random.Random(seed)
    dut = SerialRoutes()
    table = [((0,) * DIMS, 0)] * ROUTE_ENTRIES
    scans = []

    def coordinate():
        return tuple(rng.randrange(spread) for _ in range(DIMS))

    async def bench(ctx):
        for step in range(160):
            if step < 16 or rng.random() < 0.4:
                index = step if step < 16 else rng.randrange(ROUTE_ENTRIES)
                bound, node = coordinate(), rng.randrange(1 << 16)
                await request(ctx, dut, "write", 20, coord=list(bound), node=node, index=index)
                table[index] = (bound, node)
            else:
                n = rng.randrange(1, ROUTE_ENTRIES + 1)
                # a bound itself now and then: equal is at or below
                coord = table[rng.randrange(n)][0] if rng.random() < 0.3 else coordinate()
                found, node, clocks = await request(ctx, dut, "scan", 400, coord=list(coord),
                                                    count=n)
                want = owner(table, coord, n)
                assert (bool(found), node if found else None) == want, (coord, n, table[:n])
                assert clocks == (2 * DIMS + 1) * n + 2, clocks
                scans.append(found)

    run_sim(dut, bench)
    assert any(scans) and not all(scans)


def test_equal_bounds_go_to_the_lowest_index():
    """Two entries with the same bound, the greatest at or below the coordinate:
    the lower-numbered one owns it, whichever order the scan meets others in."""
    dut = SerialRoutes()
    low, tie, high = (1,) * DIMS, (3,) * DIMS, (7,) * DIMS
    table = [(low, 10), (high, 20), (tie, 111), (low, 30), (high, 40), (tie, 222)]

    async def bench(ctx):
        for index, (bound, node) in enumerate(table):
            await request(ctx, dut, "write", 20, coord=list(bound), node=node, index=index)
        for coord, n in ((tie, 6), ((4,) * DIMS, 6), (tie, 2), ((0,) * DIMS, 6)):
            found, node, _ = await request(ctx, dut, "scan", 400, coord=list(coord), count=n)
            assert (bool(found), node if found else None) == owner(table, coord, n), (coord, n)
        assert owner(table, tie, 6) == (True, 111)

    run_sim(dut, bench)
