"""Fetch pages and feeds politely: robots.txt, a user agent naming storyline, per-host pacing and
concurrency, conditional GET, timeouts, size and redirect limits, content-type checks.

Every hop of a redirect is checked like the first URL: its scheme, the addresses its host
resolves to (public only, unless ``ingest.allow_networks`` names others), and robots.txt. A body
is read as it streams and inflated layer by layer in bounded pieces (``bounded.inflate``), so an
oversized, endless or stacked-gzip page costs ``max_page_bytes``, never more; a server that
trickles bytes, headers included, is cut off at ``timeout_s`` for the whole response, robots.txt
too (``bounded.DeadlineBackend``). Nothing fetched is executed: bodies are bytes handed to the parsers.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from ..errors import InputError
from .bounded import DeadlineBackend, Malformed, TooLarge, codings, deadline, inflate

PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
FEED_TYPES = ("xml", "rss", "atom", "json", "text/html", "text/plain")  # substrings; html: a home page to discover feeds on
REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(InputError):
    """A URL that could not be fetched: names the URL and the reason, in one line."""


@dataclass
class Response:
    url: str  # after redirects
    status: int  # 200, or 304 for a conditional GET of something unchanged
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None


class _Host:
    """One host's pace (``interval`` seconds between request starts), its concurrency and its robots.txt."""

    def __init__(self, concurrency: int, interval: float):
        self.slots = threading.Semaphore(concurrency)
        self.lock = threading.Lock()
        self.interval, self.next_at = interval, 0.0
        self.robots = None
        self.robots_at = -1e18

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self.slots:
            with self.lock:
                now = time.monotonic()
                start = max(now, self.next_at)
                self.next_at = start + self.interval
            if start > now:
                time.sleep(start - now)
            yield


class Fetcher:
    """A shared HTTP client (thread-safe: the watcher fetches from a pool of threads).

    Args:
        settings: the ``[ingest]`` section (user agent, limits, pacing, allowed networks).
    """

    def __init__(self, settings: Mapping):
        self.s = settings
        self.allowed = [ipaddress.ip_network(n, strict=False) for n in settings["allow_networks"]]
        timeout = float(settings["timeout_s"])
        limits = httpx.Limits(max_connections=settings["concurrency"], max_keepalive_connections=settings["concurrency"])
        transport = httpx.HTTPTransport(limits=limits, trust_env=False)
        transport._pool = httpcore.ConnectionPool(  # httpx takes no network backend: its pool, with ours
            ssl_context=httpx.create_ssl_context(trust_env=False), max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=DeadlineBackend())
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), follow_redirects=False, trust_env=False,
            headers={"User-Agent": settings["user_agent"], "Accept-Encoding": "gzip, deflate"}, transport=transport)
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # the one public call ---------------------------------------------------------------------
    def get(self, url: str, accept: Sequence[str] = PAGE_TYPES, etag: str | None = None,
            last_modified: str | None = None) -> Response:
        """The body at ``url`` after redirects, or a 304 Response when ``etag``/``last_modified``
        say the caller has it already.

        Raises:
            FetchError: refused (address, robots.txt, scheme), failed (status, timeout, size,
                redirects, content type) -- a line naming the URL and why.
        """
        conditional = {k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", last_modified)) if v}
        hops = [url]
        for _ in range(self.s["max_redirects"] + 1):
            current = hops[-1]
            self._check_address(url, current)
            host = self._host(current)
            if not self._allowed_by_robots(host, current):
                raise FetchError(url, f"disallowed by robots.txt of {urlsplit(current).netloc}")
            with host.turn():
                r = self._request(url, current, conditional)
            if r.status in REDIRECTS:
                target = urljoin(current, r.body.decode("latin-1"))
                if target in hops:
                    raise FetchError(url, f"redirect loop ({' -> '.join(hops + [target])})")
                hops.append(target)
                continue
            if r.status == 304:
                return r
            if r.status != 200:
                raise FetchError(url, f"HTTP {r.status}" + (f" (after redirects to {current})" if len(hops) > 1 else ""))
            if not any(t in r.content_type for t in accept):
                raise FetchError(url, f"content type {r.content_type or 'missing'!r}, not one of {', '.join(accept)}")
            return r
        raise FetchError(url, f"more than {self.s['max_redirects']} redirects (ingest.max_redirects)")

    def check(self, url: str, resolve: bool = True) -> None:
        """Refuse what ``get`` would refuse to connect to (scheme, private address): webhooks obey it too.
        ``resolve=False`` makes no DNS lookup (a request checking its input): a name's addresses
        are then checked when it is connected to; an address written as one is checked now.

        Raises:
            FetchError: not http(s), unresolvable, or not a public address (nor an allowed network).
        """
        self._check_address(url, url, resolve)

    # the steps -------------------------------------------------------------------------------
    def _check_address(self, url: str, current: str, resolve: bool = True) -> None:
        """Only http(s), and only to public addresses unless a network is allowed in settings.
        (The check resolves the name; the connection resolves it again, a window a rebinding
        DNS server could use: run the watcher where private networks are firewalled too.)"""
        try:
            parts = urlsplit(current)
            scheme, host, port = parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:  # a malformed IPv6 literal or port
            scheme = host = port = None
        if scheme not in ("http", "https") or not host:
            raise FetchError(url, f"not an http(s) URL: {current[:200]}")
        try:
            ips = [ipaddress.ip_address(host)]
        except ValueError:  # a name
            if not resolve:
                return
            try:
                ips = [ipaddress.ip_address(i[4][0].split("%")[0]) for i in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
            except (socket.gaierror, UnicodeError, ValueError):
                raise FetchError(url, f"cannot resolve host {host!r}") from None
        for ip in ips:
            if not ip.is_global and not any(ip in net for net in self.allowed):
                raise FetchError(url, f"{host} resolves to {ip}, not a public address "
                                      "(ingest.allow_networks lets others be fetched)")

    def _host(self, url: str) -> _Host:
        key = urlsplit(url).netloc.lower()
        with self._lock:
            if key not in self._hosts:
                self._hosts[key] = _Host(self.s["per_host_concurrency"], self.s["per_host_interval_s"])
            return self._hosts[key]

    def _allowed_by_robots(self, host: _Host, url: str) -> bool:
        """robots.txt, kept an hour per host: 4xx means no rules; a failure to get it means wait.
        A Crawl-delay longer than ours slows the host down (up to a minute)."""
        from protego import Protego

        if not self.s["robots"]:
            return True
        with host.lock:
            fresh = time.monotonic() - host.robots_at < self.s["robots_ttl_s"]
        if not fresh:
            parts = urlsplit(url)
            robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
            rules = None
            for _ in range(self.s["max_redirects"] + 1):
                with host.turn():
                    r = self._request(url, robots_url, {})
                if r.status in REDIRECTS:
                    robots_url = urljoin(robots_url, r.body.decode("latin-1"))
                    if urlsplit(robots_url).netloc != parts.netloc:
                        break  # another host's rules are not this host's
                    continue
                if r.status == 200:
                    rules = Protego.parse(r.body.decode("utf-8", "replace"))
                elif r.status >= 500:
                    raise FetchError(url, f"robots.txt of {parts.netloc} answered HTTP {r.status}; not fetching until it answers")
                break
            with host.lock:
                host.robots, host.robots_at = rules, time.monotonic()
                delay = rules.crawl_delay(self.s["user_agent"]) if rules is not None else None
                if delay:
                    host.interval = max(self.s["per_host_interval_s"], min(float(delay), 60.0))
        return host.robots is None or host.robots.can_fetch(url, self.s["user_agent"])

    def _request(self, url: str, current: str, headers: Mapping[str, str]) -> Response:
        """One GET, read as it streams; a redirect's Location travels in ``body``."""
        limit, timeout = self.s["max_page_bytes"], float(self.s["timeout_s"])
        try:
            with deadline(timeout), self.client.stream("GET", current, headers=headers) as r:
                if r.status_code in REDIRECTS:
                    return Response(current, r.status_code, r.headers.get("location", "").encode("latin-1", "replace"))
                if r.status_code != 200:
                    return Response(current, r.status_code)
                size = r.headers.get("content-length", "")
                if size.isdigit() and int(size) > limit:
                    raise FetchError(url, f"{int(size):,} bytes, over the {limit:,}-byte limit (ingest.max_page_bytes)")
                body = bytearray()
                try:  # decoded here, layer by layer: the limit counts what a gzip bomb would inflate to
                    for part in inflate(r.iter_raw(), codings(r.headers.get("content-encoding", "")), limit):
                        body += part
                        if len(body) > limit:
                            raise TooLarge(1, 1)
                except TooLarge as big:
                    layer = f" after decoding layer {big.layer} of {big.layers}" if big.layers > 1 else ""
                    raise FetchError(url, f"over the {limit:,}-byte limit{layer} (ingest.max_page_bytes)") from None
                except Malformed as bad:
                    raise FetchError(url, str(bad)) from None
                return Response(current, 200, bytes(body), r.headers.get("content-type", "").lower(),
                                r.headers.get("etag"), r.headers.get("last-modified"))
        except httpx.TimeoutException:
            raise FetchError(url, f"timed out after {self.s['timeout_s']} s (ingest.timeout_s)") from None
        except httpx.HTTPError as exc:
            raise FetchError(url, f"cannot fetch: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")) from None
