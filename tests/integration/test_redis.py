"""redis.asyncio against a real redis-server, on an aioeventlet loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis

import aioeventlet

from .programs._common import GreenWorker

pytestmark = pytest.mark.integration


def client(port: int) -> aioredis.Redis:
    return aioredis.Redis(host="127.0.0.1", port=port, decode_responses=True)


def test_commands_round_trip(redis_port: int, green_worker: GreenWorker) -> None:
    async def main() -> tuple[dict[str, Any], int]:
        before = green_worker.rounds
        async with client(redis_port) as r:
            await r.flushdb()
            await r.set("greeting", "héllo wörld")
            await r.mset({f"k{i}": str(i * 7) for i in range(50)})
            counts = [await r.incrby("counter", step) for step in (1, 10, 100)]
            await r.hset("user:1", mapping={"name": "ada", "lang": "python"})
            await r.rpush("queue", *[f"job{i}" for i in range(5)])
            popped = await r.lpop("queue", 2)
            await r.set("temporary", "x", ex=60)
            got = {
                "greeting": await r.get("greeting"),
                "mget": await r.mget([f"k{i}" for i in range(50)]),
                "counts": counts,
                "user": await r.hgetall("user:1"),
                "popped": popped,
                "queue": await r.lrange("queue", 0, -1),
                "ttl_set": 0 < await r.ttl("temporary") <= 60,
                "missing": await r.get("missing"),
            }
            return got, green_worker.rounds - before

    got, progress = aioeventlet.run(main())
    assert got == {
        "greeting": "héllo wörld",
        "mget": [str(i * 7) for i in range(50)],
        "counts": [1, 11, 111],
        "user": {"name": "ada", "lang": "python"},
        "popped": ["job0", "job1"],
        "queue": ["job2", "job3", "job4"],
        "ttl_set": True,
        "missing": None,
    }
    assert progress > 0


def test_pipelines_and_concurrent_clients(redis_port: int) -> None:
    async def main() -> tuple[list[object], list[object], int]:
        async with client(redis_port) as r:
            await r.flushdb()
            async with r.pipeline(transaction=True) as pipe:
                pipe.set("a", "1")
                pipe.incr("a")
                pipe.incrby("a", 40)
                pipe.get("a")
                pipe.delete("a")
                transaction = await pipe.execute()
            async with r.pipeline(transaction=False) as pipe:
                for i in range(200):
                    pipe.sadd("set", i % 37)
                pipe.scard("set")
                batched = await pipe.execute()

            async def bump(worker: int) -> None:
                # Each task its own connection from the pool, all at once.
                for _ in range(25):
                    await r.hincrby("tally", f"w{worker}", 1)
                    await r.incr("total")

            await asyncio.gather(*(bump(w) for w in range(8)))
            tally = await r.hgetall("tally")
            assert tally == {f"w{w}": "25" for w in range(8)}
            total = await r.get("total")
            assert total is not None
            return transaction, batched, int(total)

    transaction, batched, total = aioeventlet.run(main())
    assert transaction == [True, 2, 42, "42", 1]
    assert batched[-1] == 37
    assert batched[:-1].count(1) == 37  # new members
    assert batched[:-1].count(0) == 163  # already there
    assert total == 200


def test_pubsub(redis_port: int, green_worker: GreenWorker) -> None:
    messages = [f"message {i}" for i in range(30)]

    async def main() -> tuple[list[tuple[str, str]], list[int], int]:
        before = green_worker.rounds
        async with client(redis_port) as r, client(redis_port) as publisher:
            pubsub = r.pubsub()
            await pubsub.subscribe("news")
            await pubsub.psubscribe("sport.*")
            # Wait for both subscriptions to be confirmed before publishing.
            confirmed = 0
            while confirmed < 2:
                msg = await pubsub.get_message(timeout=5)
                assert msg is not None, "no subscription confirmation"
                confirmed += msg["type"] in ("subscribe", "psubscribe")

            async def publish() -> list[int]:
                receivers = []
                for i, text in enumerate(messages):
                    channel = "news" if i % 2 == 0 else f"sport.{i}"
                    receivers.append(await publisher.publish(channel, text))
                return receivers

            async def receive() -> list[tuple[str, str]]:
                got: list[tuple[str, str]] = []
                while len(got) < len(messages):
                    msg = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=5
                    )
                    if msg is not None:
                        got.append((msg["channel"], msg["data"]))
                return got

            got, receivers = await asyncio.wait_for(
                asyncio.gather(receive(), publish()), timeout=20
            )
            await pubsub.aclose()
            return got, receivers, green_worker.rounds - before

    got, receivers, progress = aioeventlet.run(main())
    assert got == [
        ("news" if i % 2 == 0 else f"sport.{i}", text)
        for i, text in enumerate(messages)
    ]
    assert receivers == [1] * len(messages)
    assert progress > 0
