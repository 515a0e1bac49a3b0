"""The baseline of the real-time benchmark: a bare python-socketio server that echoes.

Every ``input`` batch is emitted straight back as ``echo`` and acknowledged, with nothing else
done: the cost of Socket.IO itself. Served the same way as bbauth (Hypercorn, one worker)::

    python -m hypercorn bench.echo_server:app --bind 127.0.0.1:PORT
"""

from __future__ import annotations

from typing import Any

import socketio

MAX_MESSAGE_BYTES = 512 * 1024
"""Same message cap as bbauth's server."""

sio = socketio.AsyncServer(
    async_mode="asgi", max_http_buffer_size=MAX_MESSAGE_BYTES, logger=False, engineio_logger=False
)


@sio.on("connect")  # type: ignore[untyped-decorator]
async def connect(sid: str, environ: dict[str, Any], auth: object = None) -> bool:
    return True


@sio.on("input")  # type: ignore[untyped-decorator]
async def echo(sid: str, data: object = None) -> None:
    await sio.emit("echo", data, to=sid)


app = socketio.ASGIApp(sio)
