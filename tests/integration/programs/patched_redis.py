"""redis.asyncio and the blocking redis client together, monkey-patched.

Greenthreads use the ordinary (blocking-style, green under patching) redis
client while coroutines use redis.asyncio, against the same real server:
what a service half-way through its migration does.  Usage: PORT
"""

from _common import GreenWorker, monkey_patch, report

monkey_patch()

import asyncio  # noqa: E402
import sys  # noqa: E402

import eventlet  # noqa: E402
import redis  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402

import aioeventlet  # noqa: E402

PORT = int(sys.argv[1])


def green_writer(n: int) -> int:
    """Legacy code: blocking redis calls in a greenthread."""
    r = redis.Redis(host="127.0.0.1", port=PORT)
    try:
        for i in range(20):
            r.rpush(f"green:{n}", i)
        return int(r.llen(f"green:{n}"))
    finally:
        r.close()


def green_publisher() -> list[int]:
    """Legacy code publishing with the blocking client."""
    r = redis.Redis(host="127.0.0.1", port=PORT)
    try:
        return [int(r.publish("ch", f"m{i}")) for i in range(5)]
    finally:
        r.close()


async def main() -> dict[str, object]:
    async with aioredis.Redis(host="127.0.0.1", port=PORT, decode_responses=True) as r:
        await r.delete(*[f"green:{n}" for n in range(10)], "async:total", "ch")
        writers = [
            aioeventlet.wrap_greenthread(eventlet.spawn(green_writer, n))
            for n in range(10)
        ]

        async def bump() -> None:
            for _ in range(50):
                await r.incr("async:total")

        await asyncio.gather(*(bump() for _ in range(4)))
        lengths = await asyncio.gather(*writers)
        lists = [await r.lrange(f"green:{n}", 0, -1) for n in range(10)]
        async with r.pipeline(transaction=True) as pipe:
            pipe.get("async:total")
            pipe.incrby("async:total", 1000)
            pipe.get("async:total")
            pipeline = await pipe.execute()

        pubsub = r.pubsub()
        await pubsub.subscribe("ch")
        await pubsub.get_message(timeout=5)  # the subscribe confirmation
        # A greenthread publishes with the blocking client; the coroutine listens.
        publisher = aioeventlet.wrap_greenthread(eventlet.spawn(green_publisher))
        received: list[str] = []
        while len(received) < 5:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
            if msg is not None:
                received.append(msg["data"])
        receivers = await publisher
        await pubsub.aclose()
    return {
        "lengths": lengths,
        "lists": lists,
        "pipeline": pipeline,
        "pubsub": received,
        "publish_receivers": receivers,
    }


worker = GreenWorker()
results = aioeventlet.run(main())
results["green_worker_ran"] = worker.stop() > 0
report(results)
