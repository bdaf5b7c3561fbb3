"""Pipes, UNIX sockets, UDP, TCP servers, and green sockets handed to the
loop, in any patching mode."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile

import _mode

import aioeventlet

_mode.after_imports()

import eventlet  # noqa: E402
import eventlet.green.socket as green_socket  # noqa: E402


class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.transport.sendto(data.upper(), addr)  # type: ignore[attr-defined]


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write((await reader.readline()).upper())
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
    writer.write(b"ping\n")
    await writer.drain()
    answer = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return answer.decode().strip()


async def tcp_and_unix() -> None:
    # TCP server and client (asyncio creates the sockets: green when patched).
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def roundtrip() -> str:
        return await ask(*await asyncio.open_connection("127.0.0.1", port))

    answers = await asyncio.gather(*(roundtrip() for _ in range(5)))
    print(f"tcp={','.join(answers)}")
    server.close()
    await server.wait_closed()

    # UNIX sockets.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "s")
        server = await asyncio.start_unix_server(handle, path)
        print(f"unix={await ask(*await asyncio.open_unix_connection(path))}")
        server.close()
        await server.wait_closed()


async def udp_and_pipes() -> None:
    loop = asyncio.get_running_loop()
    # UDP.
    echo, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    addr = echo.get_extra_info("sockname")
    got: asyncio.Future[bytes] = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            got.set_result(data)

    client, _ = await loop.create_datagram_endpoint(Client, remote_addr=addr)
    client.sendto(b"udp")
    print(f"udp={(await got).decode()}")
    client.close()
    echo.close()

    # Pipes: connect_read_pipe / connect_write_pipe on os.pipe().
    rfd, wfd = os.pipe()
    reader = asyncio.StreamReader()
    rtransport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(rfd, "rb")
    )
    wtransport, _ = await loop.connect_write_pipe(
        asyncio.Protocol, os.fdopen(wfd, "wb")
    )
    wtransport.write(b"through the pipe\n" * 1000)  # more than a pipe buffer
    data = await reader.readexactly(17 * 1000)
    wtransport.close()
    print(f"pipe={len(data)},{await reader.read() == b''}")
    rtransport.close()


async def green_sockets() -> None:
    loop = asyncio.get_running_loop()
    # Green sockets handed to the loop (eventlet.green.socket, patched or not).
    a, b = green_socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    await loop.sock_sendall(a, b"green")
    print(f"sock_recv={(await loop.sock_recv(b, 10)).decode()}")
    a.close()
    b.close()

    listener = green_socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    server = await asyncio.start_server(handle, sock=listener)
    conn = green_socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn.setblocking(False)
    await loop.sock_connect(conn, listener.getsockname())
    answer = await ask(*await asyncio.open_connection(sock=conn))
    print(f"green_server_and_client={answer}")
    server.close()
    await server.wait_closed()

    # A green server greenthread serving an asyncio client.
    green_listener = eventlet.listen(("127.0.0.1", 0))

    def green_serve() -> None:
        client, _ = green_listener.accept()
        client.sendall(client.recv(100).upper())
        client.close()

    gt = eventlet.spawn(green_serve)
    answer = await ask(*await asyncio.open_connection(*green_listener.getsockname()))
    gt.wait()
    green_listener.close()
    print(f"green_thread_server={answer}")


async def main() -> None:
    await tcp_and_unix()
    await udp_and_pipes()
    await green_sockets()


aioeventlet.run(main())
print(f"done={sys.argv[1]}")
