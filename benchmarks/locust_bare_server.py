"""A minimal fast WebSocket server for the client benchmarks: asyncio ``websockets``.

On accept it sends a ``connection_confirmed`` frame (the first frame the clients wait for);
it answers every text frame with a fixed ``heartbeat_response``. No pings, no Django: the
server should cost as little as possible so the clients are what is measured.

    python benchmarks/locust_bare_server.py --hosts 127.0.0.1,127.0.0.2 --port 0

prints ``listening PORT`` once every address is bound, then serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

from locust_bench_support import raise_file_limit
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

CONFIRMED = json.dumps(
    {"type": "connection_confirmed", "data": {"user_id": 0, "groups": []}, "timestamp": 0}
)
RESPONSE = json.dumps({"type": "heartbeat_response", "timestamp": "0", "server_time": 0.0})


async def handler(connection: ServerConnection) -> None:
    try:
        await connection.send(CONFIRMED)
        async for _ in connection:
            await connection.send(RESPONSE)
    except ConnectionClosed:
        pass  # a client that closes right after the first frame is the connect benchmark


async def main(hosts: list[str], port: int) -> None:
    raise_file_limit()
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    first = await serve(
        handler, hosts[0], port, ping_interval=None, backlog=4096, compression=None, max_queue=None
    )
    port = first.sockets[0].getsockname()[1]
    servers = [first] + [
        await serve(
            handler, host, port, ping_interval=None, backlog=4096, compression=None, max_queue=None
        )
        for host in hosts[1:]
    ]
    print(f"listening {port}", flush=True)
    await stop
    for server in servers:
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(main(args.hosts.split(","), args.port))
