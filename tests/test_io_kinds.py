"""Pipes, UNIX sockets, UDP and TCP servers (the 0.5 to-do list), on both
loops through the fixture, and in every patching mode through
tests/isolated/io_kinds.py (which also hands green sockets to the loop)."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from .isolated import MODES, results, run_isolated


@pytest.mark.parametrize("mode", MODES)
def test_io_kinds_in_every_mode(mode: str) -> None:
    assert results(run_isolated("io_kinds", mode)) == {
        "tcp": "PING,PING,PING,PING,PING",
        "unix": "PING",
        "udp": "UDP",
        "pipe": "17000,True",
        "sock_recv": "green",
        "green_server_and_client": "PING",
        "green_thread_server": "PING",
        "done": mode,
    }


async def _upper_line(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    writer.write((await reader.readline()).upper())
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def _ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"hi\n")
    await writer.drain()
    answer = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return answer


def test_tcp_server_many_clients(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> list[bytes]:
        server = await asyncio.start_server(_upper_line, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        async def one() -> bytes:
            return await _ask(*await asyncio.open_connection("127.0.0.1", port))

        async with server:
            answers = await asyncio.gather(*(one() for _ in range(20)))
        await server.wait_closed()
        return answers

    assert loop.run_until_complete(main()) == [b"HI\n"] * 20


def test_tcp_server_serve_forever_cancelled(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> tuple[bytes, bool]:
        server = await asyncio.start_server(
            _upper_line, "127.0.0.1", 0, start_serving=False
        )
        port = server.sockets[0].getsockname()[1]
        serving = asyncio.ensure_future(server.serve_forever())
        await asyncio.sleep(0)
        answer = await _ask(*await asyncio.open_connection("127.0.0.1", port))
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving
        await server.wait_closed()
        return answer, server.is_serving()

    assert loop.run_until_complete(main()) == (b"HI\n", False)


def test_unix_socket_server(loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    path = str(tmp_path / "sock")

    async def main() -> bytes:
        server = await asyncio.start_unix_server(_upper_line, path)
        async with server:
            answer = await _ask(*await asyncio.open_unix_connection(path))
        await server.wait_closed()
        return answer

    assert loop.run_until_complete(main()) == b"HI\n"


def test_unix_socketpair_sock_methods(loop: asyncio.AbstractEventLoop) -> None:
    a, b = socket.socketpair(socket.AF_UNIX)
    a.setblocking(False)
    b.setblocking(False)

    async def send() -> None:
        await loop.sock_sendall(a, b"x" * 300_000)  # more than the buffer
        a.close()

    async def receive() -> bytes:
        chunks = []
        while chunk := await loop.sock_recv(b, 65536):
            chunks.append(chunk)
        return b"".join(chunks)

    async def main() -> bytes:
        _, received = await asyncio.gather(send(), receive())
        return received

    try:
        assert loop.run_until_complete(main()) == b"x" * 300_000
    finally:
        a.close()
        b.close()


def test_udp_echo(loop: asyncio.AbstractEventLoop) -> None:
    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.transport.sendto(data[::-1], addr)

    class Client(asyncio.DatagramProtocol):
        def __init__(self) -> None:
            self.got: asyncio.Queue[bytes] = asyncio.Queue()

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.got.put_nowait(data)

    async def main() -> list[bytes]:
        echo, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        client, protocol = await loop.create_datagram_endpoint(
            Client, remote_addr=echo.get_extra_info("sockname")
        )
        for word in (b"abc", b"de"):
            client.sendto(word)
        got = [await protocol.got.get(), await protocol.got.get()]
        client.close()
        echo.close()
        return sorted(got)

    assert loop.run_until_complete(main()) == [b"cba", b"ed"]


def test_read_and_write_pipes(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> tuple[int, bytes]:
        rfd, wfd = os.pipe()
        reader = asyncio.StreamReader()
        rtransport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(rfd, "rb")
        )
        wtransport, _ = await loop.connect_write_pipe(
            asyncio.Protocol, os.fdopen(wfd, "wb")
        )
        payload = os.urandom(200_000)  # fills the pipe: the writer must wait
        wtransport.write(payload)
        received = await reader.readexactly(len(payload))
        wtransport.close()
        rest = await reader.read()  # EOF once the write end is closed
        rtransport.close()
        return len(received) if received == payload else -1, rest

    assert loop.run_until_complete(main()) == (200_000, b"")


def test_write_pipe_reader_closed(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """The reading end goes away: the write transport learns of it."""

    async def main() -> bool:
        rfd, wfd = os.pipe()
        lost = loop.create_future()

        class Protocol(asyncio.Protocol):
            def connection_lost(self, exc: Exception | None) -> None:
                lost.set_result(True)

        wtransport, _ = await loop.connect_write_pipe(Protocol, os.fdopen(wfd, "wb"))
        os.close(rfd)
        result: bool = await asyncio.wait_for(lost, 20)
        wtransport.close()
        return result

    assert loop.run_until_complete(main()) is True
