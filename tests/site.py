"""A local web site on 127.0.0.1 for the ingest tests and benchmark: routes set per test, every
request logged (path and headers), conditional GET by ETag, and pages made from article texts."""
from __future__ import annotations

import html
import os
import sys
import threading
import time
from collections import Counter
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/rss+xml", ".json": "application/feed+json"}


class Site:
    """Routes set with ``put``; with ``root``, other paths are files under it (an ETag from the
    file's mtime and size, except under /plain/)."""

    def __init__(self, root: str | None = None):
        self.root = root
        self.routes: dict[str, object] = {}
        self.hits: Counter = Counter()
        self.log: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with site.lock:
                    site.hits[self.path] += 1
                    site.log.append((self.path, dict(self.headers)))
                if self.path not in site.routes and site.root:
                    return self._file()
                if self.path not in site.routes:
                    return self._send(404, {"Content-Type": "text/plain"}, b"not found")
                route = site.routes[self.path]
                if callable(route):
                    route = route(self)
                    if route is None:  # it answered itself
                        return
                status, headers, body = route
                etag = headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    return self._send(304, {"ETag": etag}, b"")
                self._send(status, headers, body)

            def _file(self):
                path = os.path.join(site.root, self.path.lstrip("/"))
                if ".." in self.path or not os.path.isfile(path):
                    return self._send(404, {"Content-Type": "text/plain"}, b"not found")
                st = os.stat(path)
                headers = {"Content-Type": TYPES.get(os.path.splitext(path)[1], "text/plain")}
                if not self.path.startswith("/plain/"):
                    headers["ETag"] = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
                    if self.headers.get("If-None-Match") == headers["ETag"]:
                        return self._send(304, headers, b"")
                with open(path, "rb") as fh:
                    self._send(200, headers, fh.read())

            def _send(self, status, headers, body):
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    if "Content-Length" not in headers:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):  # a client hanging up is no error here
                if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def put(self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8",
            status: int = 200, etag: str | None = None, **headers) -> str:
        body = body.encode() if isinstance(body, str) else body
        hdrs = {"Content-Type": content_type, **{k.replace("_", "-"): v for k, v in headers.items()}}
        if etag:
            hdrs["ETag"] = etag
        self.routes[path] = (status, hdrs, body)
        return self.url + path

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def article_html(title: str, text: str, lang: str = "en") -> str:
    paras = "".join(f"<p>{html.escape(p.strip())}</p>\n" for p in text.split("\n") if p.strip())
    return (f"<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title></head>"
            f"<body><nav><a href=\"/\">Home</a></nav><article><h1>{html.escape(title)}</h1>\n{paras}</article>"
            "<footer>© Example News</footer></body></html>")


def rss(items: list[tuple[str, str, str]], title: str = "Example News") -> str:
    """RSS 2.0 of (link, title, ISO date) items."""
    def rfc(d):
        return formatdate(time.mktime(time.strptime(d, "%Y-%m-%d")), usegmt=True)
    entries = "".join(f"<item><title>{html.escape(t)}</title><link>{html.escape(u)}</link>"
                      f"<guid>{html.escape(u)}</guid><pubDate>{rfc(d)}</pubDate></item>" for u, t, d in items)
    return (f"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>{title}</title>"
            f"<link>http://example.org/</link><description>news</description>{entries}</channel></rss>")


def atom(items: list[tuple[str, str, str]], title: str = "Example Atom") -> str:
    entries = "".join(f"<entry><title>{html.escape(t)}</title><link href=\"{html.escape(u)}\"/><id>{html.escape(u)}</id>"
                      f"<updated>{d}T10:00:00Z</updated></entry>" for u, t, d in items)
    return (f"<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{title}</title>"
            f"<id>urn:example</id><updated>2022-02-10T10:00:00Z</updated>{entries}</feed>")


def json_feed(items: list[tuple[str, str, str]], title: str = "Example JSON") -> str:
    import json

    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": title,
                       "items": [{"id": u, "url": u, "title": t, "date_published": f"{d}T10:00:00Z"} for u, t, d in items]})


def news_sitemap(items: list[tuple[str, str, str]]) -> str:
    urls = "".join(f"<url><loc>{html.escape(u)}</loc><news:news><news:publication><news:name>Example</news:name>"
                   f"<news:language>en</news:language></news:publication><news:publication_date>{d}</news:publication_date>"
                   f"<news:title>{html.escape(t)}</news:title></news:news></url>" for u, t, d in items)
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" "
            f"xmlns:news=\"http://www.google.com/schemas/sitemap-news/0.9\">{urls}</urlset>")


if __name__ == "__main__":  # python -m tests.site ROOT N: N sites serving ROOT, their addresses on stdout
    sites = [Site(sys.argv[1]) for _ in range(int(sys.argv[2]))]
    print(" ".join(s.url for s in sites), flush=True)
    sys.stdin.read()  # until the parent closes our stdin


def gzip_bomb(layers: int, size: int) -> bytes:
    """``size`` zero bytes gzipped ``layers`` times, built in 1 MB pieces (never held whole)."""
    import zlib

    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    body = b"".join(c.compress(block[:min(len(block), size - i)]) for i in range(0, size, len(block))) + c.flush()
    for _ in range(layers - 1):
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        body = c.compress(body) + c.flush()
    return body


def trickle_headers(handler, seconds: float = 30.0, every: float = 0.2):
    """A status line, then one header byte every ``every`` seconds: a slowloris on the client's side."""
    try:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: ")
        handler.wfile.flush()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            handler.wfile.write(b"a")
            handler.wfile.flush()
            time.sleep(every)
    except (BrokenPipeError, ConnectionResetError):
        pass
    handler.close_connection = True
