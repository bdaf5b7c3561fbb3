"""asyncpg against a real PostgreSQL cluster, on an aioeventlet loop."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import json
import uuid

import asyncpg
import pytest

import aioeventlet

from .programs._common import GreenWorker

pytestmark = pytest.mark.integration


def test_queries_and_types_round_trip(
    postgres_dsn: str, green_worker: GreenWorker
) -> None:
    rows_in = [
        (
            i,
            f"name-{i} ✓",
            decimal.Decimal(i) / 8,
            datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
            + datetime.timedelta(hours=i),
            uuid.UUID(int=i),
            {"i": i, "tags": ["a", "b"][: i % 3]},
        )
        for i in range(100)
    ]

    async def main() -> tuple[list[tuple[object, ...]], str, int]:
        before = green_worker.rounds
        conn = await asyncpg.connect(postgres_dsn)
        try:
            await conn.set_type_codec(
                "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
            )
            await conn.execute(
                """CREATE TEMP TABLE items (
                       id int PRIMARY KEY, name text, price numeric,
                       at timestamptz, ref uuid, doc jsonb)"""
            )
            await conn.executemany(
                "INSERT INTO items VALUES ($1, $2, $3, $4, $5, $6)", rows_in
            )
            records = await conn.fetch("SELECT * FROM items ORDER BY id")
            version = await conn.fetchval("SHOW server_version")
            return (
                [tuple(r.values()) for r in records],
                version,
                green_worker.rounds - before,
            )
        finally:
            await conn.close()

    rows_out, version, progress = aioeventlet.run(main())
    assert rows_out == rows_in
    assert version.split(".")[0].isdigit()
    assert progress > 0


def test_transactions_commit_and_roll_back(postgres_dsn: str) -> None:
    async def main() -> tuple[list[int], int, list[int]]:
        conn = await asyncpg.connect(postgres_dsn)
        try:
            await conn.execute("CREATE TEMP TABLE ledger (amount int)")
            async with conn.transaction():
                await conn.execute("INSERT INTO ledger VALUES (10), (20)")

            async def failing_transaction() -> None:
                async with conn.transaction():
                    await conn.execute("INSERT INTO ledger VALUES (999)")
                    await conn.execute("CREATE TEMP TABLE dup (x int PRIMARY KEY)")
                    await conn.execute("INSERT INTO dup VALUES (1), (1)")

            with pytest.raises(asyncpg.UniqueViolationError):
                await failing_transaction()
            async with conn.transaction():
                await conn.execute("INSERT INTO ledger VALUES (30)")
                savepoint = conn.transaction()
                await savepoint.start()
                await conn.execute("INSERT INTO ledger VALUES (-1)")
                await savepoint.rollback()
            amounts = [
                r["amount"]
                for r in await conn.fetch("SELECT amount FROM ledger ORDER BY amount")
            ]
            dup_exists = await conn.fetchval(
                "SELECT count(*) FROM pg_class WHERE relname = 'dup'"
            )
            in_tx: list[int] = []
            tx = conn.transaction()
            await tx.start()
            await conn.execute("INSERT INTO ledger VALUES (40)")
            in_tx.append(await conn.fetchval("SELECT sum(amount) FROM ledger"))
            await tx.rollback()
            in_tx.append(await conn.fetchval("SELECT sum(amount) FROM ledger"))
            return amounts, dup_exists, in_tx
        finally:
            await conn.close()

    amounts, dup_exists, sums = aioeventlet.run(main())
    assert amounts == [10, 20, 30]
    assert dup_exists == 0  # rolled back with its transaction
    assert sums == [100, 60]


def test_prepared_statements_and_pool(
    postgres_dsn: str, green_worker: GreenWorker
) -> None:
    async def main() -> tuple[list[int], list[str], list[tuple[int, int]], int]:
        before = green_worker.rounds
        async with asyncpg.create_pool(postgres_dsn, min_size=2, max_size=6) as pool:
            async with pool.acquire() as conn:
                square = await conn.prepare("SELECT $1::int * $1::int")
                squares = [await square.fetchval(i) for i in range(20)]
                attributes = [a.name for a in square.get_attributes()]
                cursor_rows = []
                async with conn.transaction():
                    stmt = await conn.prepare(
                        "SELECT g, g % 7 FROM generate_series(1, $1) g"
                    )
                    async for record in stmt.cursor(500, prefetch=64):
                        cursor_rows.append((record[0], record[1]))

            async def slow_echo(i: int) -> int:
                # Six server-side sleeps at once on six connections.
                sql = "SELECT $1::int FROM pg_sleep(0.05)"
                return int(await pool.fetchval(sql, i))

            echoed = await asyncio.gather(*(slow_echo(i) for i in range(12)))
            assert echoed == list(range(12))
            return squares, attributes, cursor_rows, green_worker.rounds - before

    squares, attributes, cursor_rows, progress = aioeventlet.run(main())
    assert squares == [i * i for i in range(20)]
    assert attributes == ["?column?"]
    assert cursor_rows == [(g, g % 7) for g in range(1, 501)]
    assert progress > 0


def test_listen_notify(postgres_dsn: str) -> None:
    async def main() -> list[tuple[str, str]]:
        listener = await asyncpg.connect(postgres_dsn)
        sender = await asyncpg.connect(postgres_dsn)
        received: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        try:
            await listener.add_listener(
                "jobs",
                lambda _c, _pid, channel, payload: received.put_nowait(
                    (channel, payload)
                ),
            )
            for i in range(10):
                await sender.execute("SELECT pg_notify('jobs', $1)", f"job {i}")
            return [await asyncio.wait_for(received.get(), 10) for _ in range(10)]
        finally:
            await listener.close()
            await sender.close()

    assert aioeventlet.run(main()) == [("jobs", f"job {i}") for i in range(10)]
