"""The HTTP protocol of `python -m chatapp`: uvicorn's httptools protocol with a read deadline.

uvicorn has no timeout for receiving a request (https://github.com/Kludex/uvicorn/issues/157): a
connection that sends nothing, or trickles its headers or body a byte at a time, is held open
for ever, since its keep-alive timer only runs between requests and is cancelled by every byte
received. Behind Cloud Run that is the front end's business; run directly, a few hundred slow
clients hold every connection. Here a connection has `read_timeout_s` to deliver each complete
request (headers and body), counted from the connection or from the first byte of the request
after the previous response; then it gets a 408 (nothing read yet) or is closed. Streaming a long
answer back is not affected: the deadline ends when the request has been read.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_408_BODY = (
    b'{"error":{"message":"the request was not received in time",'
    b'"type":"invalid_request_error","param":null,"code":"timeout"}}'
)
_408 = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: " + str(len(_408_BODY)).encode() + b"\r\n\r\n" + _408_BODY
)


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    read_timeout_s: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._read_deadline is None:
            self._read_deadline = self.loop.call_later(self.read_timeout_s, self._read_timed_out)

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(_408)  # headers not complete: no response of the app can be under way
        # otherwise the app is waiting for the body: closing makes its receive() a disconnect
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()  # the next request on a kept-alive connection

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()


def protocol_class(read_timeout_s: float) -> type[DeadlineHttpToolsProtocol]:
    return type("ChatHttpProtocol", (DeadlineHttpToolsProtocol,), {"read_timeout_s": read_timeout_s})
