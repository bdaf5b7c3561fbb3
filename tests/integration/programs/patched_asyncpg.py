"""asyncpg on aioeventlet in a monkey-patched process.  Usage: DSN

Queries, a transaction and a pool, while greenthreads keep working and a
blocking call runs in the loop's default executor (real OS threads).
"""

from _common import GreenWorker, compared, monkey_patch, report

monkey_patch()

import asyncio  # noqa: E402
import sys  # noqa: E402

import asyncpg  # noqa: E402

import aioeventlet  # noqa: E402

DSN = sys.argv[1]


async def main() -> dict[str, object]:
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute("CREATE TEMP TABLE t (k int PRIMARY KEY, v text)")
        await conn.executemany(
            "INSERT INTO t VALUES ($1, $2)", [(i, f"v{i}") for i in range(200)]
        )
        async with conn.transaction():
            await conn.execute("UPDATE t SET v = upper(v) WHERE k % 2 = 0")
        doomed = conn.transaction()
        await doomed.start()
        await conn.execute("DELETE FROM t")
        await doomed.rollback()
        rows = await conn.fetch("SELECT k, v FROM t ORDER BY k")
        stmt = await conn.prepare("SELECT $1::int + $2::int")
        sums = [await stmt.fetchval(i, 100) for i in range(5)]
    finally:
        await conn.close()
    async with asyncpg.create_pool(DSN, min_size=1, max_size=4) as pool:
        slept = await asyncio.gather(
            *(pool.fetchval("SELECT $1::int FROM pg_sleep(0.05)", i) for i in range(8))
        )
    return {
        "rows": compared(
            [list(r) for r in rows],
            [[i, f"V{i}" if i % 2 == 0 else f"v{i}"] for i in range(200)],
        ),
        "sums": sums,
        "pool": slept,
    }


worker = GreenWorker()
results = aioeventlet.run(main())
results["green_worker_ran"] = worker.stop() > 0
report(results)
