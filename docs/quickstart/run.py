import asyncio

import aioeventlet  # first: it imports eventlet with its deprecation warning filtered

# isort: split
import eventlet


def green_worker(results: list[str]) -> None:
    for i in range(3):
        results.append(f"green {i}")
        eventlet.sleep(0.01)  # yields to the hub: the loop and others run


async def main() -> list[str]:
    results: list[str] = []
    worker = eventlet.spawn(green_worker, results)
    for i in range(3):
        results.append(f"async {i}")
        await asyncio.sleep(0.01)  # yields to the hub too
    worker.wait()
    return sorted(results)


print(aioeventlet.run(main()))
