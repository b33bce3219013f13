"""Bounds a hostile server cannot stretch: one deadline for a whole response (connect, TLS,
headers and body), and decoded bytes counted after every layer of content encoding.

httpx's timeouts are per operation: a server sending one header byte every few seconds never
trips them. ``DeadlineBackend`` gives every socket operation only the time left before the
deadline of the request in hand (set per thread with ``deadline``). httpx also inflates each
network chunk whole, so ``Content-Encoding: gzip, gzip`` turns 2 KB on the wire into gigabytes
before any check; ``inflate`` decodes layer by layer in pieces of at most ``STEP`` bytes and
stops as soon as a layer passes the limit.
"""
from __future__ import annotations

import contextlib
import threading
import time
import zlib
from collections.abc import Iterable, Iterator

import httpcore

STEP = 65_536  # bytes a layer may produce from one call: memory is a few of these, whatever the ratio
MAX_LAYERS = 3  # content encodings stacked on one response
_local = threading.local()


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every socket operation of this thread, while inside, ends by ``seconds`` from now."""
    _local.at = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.at = None


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    at = getattr(_local, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the response's deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream):
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        return _Stream(self.inner.start_tls(ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str):
        return self.inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend with every operation cut at the thread's ``deadline``."""

    def __init__(self):
        self.inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None) -> httpcore.NetworkStream:
        return _Stream(self.inner.connect_tcp(host, port, _left(timeout, httpcore.ConnectTimeout), local_address, socket_options))

    def connect_unix_socket(self, path, timeout=None, socket_options=None) -> httpcore.NetworkStream:
        return _Stream(self.inner.connect_unix_socket(path, _left(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class TooLarge(Exception):
    """A layer decoded past the limit; ``layer`` counts from the wire (1: the outermost)."""

    def __init__(self, layer: int, layers: int):
        self.layer, self.layers = layer, layers


class Malformed(Exception):
    """An encoding that is unknown, stacked too deep, or bytes that do not decode."""


def codings(header: str) -> list[str]:
    """Content-Encoding's layers in the order they were applied ("identity" dropped)."""
    names = [c.strip().lower() for c in header.split(",") if c.strip()]
    names = [c for c in names if c != "identity"]
    for c in names:
        if c not in ("gzip", "x-gzip", "deflate"):
            raise Malformed(f"content encoding {c!r} (only gzip and deflate are asked for)")
    if len(names) > MAX_LAYERS:
        raise Malformed(f"{len(names)} stacked content encodings (at most {MAX_LAYERS})")
    return names


def inflate(chunks: Iterable[bytes], encodings: list[str], limit: int) -> Iterator[bytes]:
    """The body decoded, each layer's output bounded by ``limit`` while it inflates.

    Raises:
        TooLarge: a layer produced more than ``limit`` bytes.
        Malformed: the bytes are not what the encoding says.
    """
    stream: Iterable[bytes] = chunks
    for depth, coding in enumerate(reversed(encodings)):
        stream = _layer(stream, coding, limit, depth + 1, len(encodings))
    return iter(stream)


def _layer(chunks: Iterable[bytes], coding: str, limit: int, layer: int, layers: int) -> Iterator[bytes]:
    wbits = 16 + zlib.MAX_WBITS if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
    d, total, started = zlib.decompressobj(wbits), 0, False
    try:
        for chunk in chunks:
            data = chunk
            while data and not d.eof:  # bytes after the end of the stream are ignored, as httpx does
                try:
                    piece = d.decompress(data, STEP)
                except zlib.error:
                    if coding != "deflate" or started or wbits < 0:
                        raise
                    wbits, d = -zlib.MAX_WBITS, zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as servers send it
                    continue
                started = True
                data = d.unconsumed_tail
                total += len(piece)
                if total > limit:
                    raise TooLarge(layer, layers)
                if piece:
                    yield piece
        rest = d.flush()
        if total + len(rest) > limit:
            raise TooLarge(layer, layers)
        if rest:
            yield rest
    except zlib.error as exc:
        raise Malformed(f"malformed {coding} body ({exc})") from None
