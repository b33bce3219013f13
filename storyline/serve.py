"""Serve stage: the HTTP API and the web UI over one store, in one process (FastAPI + uvicorn).

Every unsafe request passes one gate (``Gate``) before any of its body is read: a Host the server
is not configured for is refused (DNS rebinding: a name the attacker owns resolving to this
machine), cross-site browser requests are refused, writes need the token when one is set, and
the body is counted as it streams in and cut off with 413 at ``serve.max_body_bytes``, whatever
Content-Length says. The UI's pages pass the same Host check.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import itertools
import logging
import math
import os
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, File, Header, HTTPException, Query, Request, Response, Security, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.security import HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, BeforeValidator, Field, field_validator, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import atom
from . import export as exporting
from . import metrics
from .access import Access
from .errors import FieldError, InputError, MissingExtraError, NotFittedError, NotFoundError, SettingsError, StorylineError, Unavailable
from .logs import REQUEST_ID
from .model import Article
from .ops import Retention
from .pipeline import content_hash
from .read import MAX_ID_CHARS, decode, parse_text, read_urls, record_to_article
from .service import Storyline
from .settings import Settings, load_settings
from .stop import Stop
from .store import StoryFilter, open_store
from .display import reader_lang, shown
from . import monitor
from .store.outbox import DuplicateName
from .top import MAX_LIMIT as MAX_TOP
from .watch import Watcher

log = logging.getLogger("storyline")
access = logging.getLogger("storyline.access")

WEB = Path(__file__).parent / "web"
LANG_CODE = r"^[A-Za-z]{2,3}(-[A-Za-z]{2,4})?$"


def _known_languages(region: bool):
    """The schema's pattern for a language field the server checks against the codes the language
    identifier knows (any case; ``region``: a subtag after "-" is passed over): the identifier
    loads when the schema is first asked for, not when the server starts."""
    def pattern(schema: dict) -> None:
        from .analyse.language import known_languages

        schema["pattern"] = f"^({'|'.join(sorted(known_languages()))})" + ("(-[A-Za-z]{2,4})?$" if region else "$")
    return pattern


LANG = Query(None, pattern=LANG_CODE, json_schema_extra=_known_languages(region=True),
             description="an ISO 639-1 code storyline knows, any case, a region after '-' passed over (de, zh-TW)")
READER = Header(None, description="the reader's languages when ``lang`` is not given: each story then carries "
                                  "``display`` (headline and places in the first of them storyline knows)")
KnownLang = Annotated[str, Field(pattern=LANG_CODE, json_schema_extra=_known_languages(region=False))]
# the window of /stories/top and its feed (``top.window``)
HOURS = Query(None, gt=0, description="the window: this many hours back from until, in whole days (default 24 unless "
                                      "since is given)")
SINCE = Query(None, description="the window's first day, YYYY-MM-DD (with hours: whichever is later)")
UNTIL = Query(None, description="the window's last day, YYYY-MM-DD (default: the newest article's day; today if that is in the future)")
# the filters of /stories and /export (``StoryFilter``)
LISTED_SINCE = Query(None, description="last seen on or after, YYYY-MM-DD")
LISTED_UNTIL = Query(None, description="first seen on or before, YYYY-MM-DD")
ENTITY = Query(None, max_length=200, description="a person, organisation or place, in any spelling or script")
HEADLINE_WORDS = Query(None, max_length=200, description="words of a headline or title")
TOP_LIMIT = Query(20, ge=1, le=MAX_TOP, description="stories listed")
MAX_OFFSET = 1_000_000_000  # stories skipped at most by a page (the store counts in 64-bit integers)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
OPEN_PATHS = ("/health", "/openapi.json", "/docs-assets/")  # and the UI's pages: answered without a token, whatever the scopes
UI_PATHS = ("/ui/", "/static/", "/docs")  # and "/": pages a rebinding site could frame or script
HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
           (b"x-frame-options", b"DENY")]
CSP = b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
STATUS = {  # the library's errors as HTTP statuses; a subclass not listed takes its base class's
    NotFoundError: 404,
    InputError: 400,
    SettingsError: 400,
    NotFittedError: 503,  # the server has no scorer to answer with
    MissingExtraError: 503,
    Unavailable: 503,  # with Retry-After (its own handler)
    StorylineError: 400,  # the store's errors (locked, read-only, disk full) and any other the library names
}


def _iso_day(value: Any) -> Any:
    """Only the text YYYY-MM-DD: pydantic alone takes a number too (seconds since 1970), which the
    schema's ``format: date`` does not."""
    if isinstance(value, str) and len(value) == 10 and value[4] == value[7] == "-":
        return value
    raise ValueError("must be a date YYYY-MM-DD")


Day = Annotated[dt.date, BeforeValidator(_iso_day)]


def _whole(value: Any) -> Any:
    """A JSON integer as the schema means it (5 or 5.0); pydantic alone takes true and "5" too."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("must be a whole number")
    return int(value)


Whole = Annotated[int, BeforeValidator(_whole)]


def status_of(exc: StorylineError) -> int:
    return next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)


class ArticleIn(BaseModel):
    text: str = Field(min_length=1, max_length=5_000_000)
    id: str | None = Field(default=None, max_length=MAX_ID_CHARS,
                           description="default: 'post-' and a hash of title and text, the same for the same content")
    url: str | None = None
    title: str | None = None
    lang: str | None = None
    published: str | None = Field(default=None, json_schema_extra={"format": "date"},
                                  description="publication date, YYYY-MM-DD")
    source: str | None = None

    @field_validator("published")
    @classmethod
    def _a_real_date(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError("must be a real date YYYY-MM-DD") from None
        return value

    def article(self, default_id: str, where: str) -> Article:
        """As the file readers would read it (one validation for every path)."""
        return record_to_article(self.model_dump(), default_id, where)


class UrlsIn(BaseModel):
    urls: list[str] = Field(min_length=1, max_length=100, description="pages to fetch and add (public addresses only, "
                                                                       "unless ingest.allow_networks allows others)")


class FeedIn(BaseModel):
    url: str = Field(min_length=1, max_length=2_000, description="an RSS, Atom or JSON feed, a news sitemap, or a "
                                                                 "home page linking to feeds")
    interval_s: Whole | None = Field(default=None, ge=10, description="seconds between polls (default ingest.poll_interval_s)")


class PruneIn(BaseModel):
    before: str = Field(json_schema_extra={"format": "date"}, description="delete the articles whose event (else "
                        "publication) date is before this day, YYYY-MM-DD")

    @field_validator("before")
    @classmethod
    def _a_real_day(cls, value: str) -> str:
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a real date YYYY-MM-DD") from None
        return value


# a name needs a letter to be keyed (``analyse.names.entity_keys``); \p{L}, since a schema's \w
# is ASCII to ECMA-262 and JSON-schema validators, which read "Токаев" as no letter at all
LETTER = r"\p{L}"
CRITERIA = {"entities": {"type": "array", "minItems": 1}, "query": {"type": "string"}, "langs": {"type": "array", "minItems": 1},
            "min_sources": {"type": "integer", "minimum": 1}, "min_languages": {"type": "integer", "minimum": 1}}
# Python's str.strip also takes \x1c-\x1f for spaces, which a schema's regex (ECMA, Rust) does not:
# spelt out, every validator reads "blank" and "a host" as the server does
SPACE, NONSPACE = r"[\s\x1c-\x1f]", r"[^\s\x1c-\x1f]"
WEBHOOK = {"type": "string", "pattern": NONSPACE}  # a webhook given (a blank one is none)
WEBHOOK_URL = (rf"^{SPACE}*([Hh][Tt][Tt][Pp][Ss]?://[^\s\x00-\x20\x7f/?#\[\]@:]+"
               r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[0-5]?[0-9]{1,4}))?"
               rf"([/?#]{NONSPACE}*)?{SPACE}*)?$")  # http(s), a host name or IPv4 address, a port in range


class WatchlistIn(BaseModel):
    """What ``make_watchlist`` checks, as far as a schema can say it: at least one criterion
    (``anyOf``), a webhook with its secret and a secret only with a webhook (``allOf``)."""

    model_config = {"json_schema_extra": {
        "anyOf": [{"required": [k], "properties": {k: v}} for k, v in CRITERIA.items()],
        "allOf": [{"if": {"required": [a], "properties": {a: given}}, "then": {"required": [b], "properties": {b: needed}}}
                  for a, b, given, needed in (("webhook", "secret", WEBHOOK, {"type": "string"}),
                                              ("secret", "webhook", {"type": "string"}, WEBHOOK))]}}

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                      description="letters, digits, '_', '.', '-', starting with a letter or digit")
    entities: list[Annotated[str, Field(max_length=200, pattern=LETTER)]] = Field(
        default=[], max_length=20, description="people, organisations, places (any script or spelling); each must be named")
    query: str | None = Field(default=None, max_length=200, pattern=NONSPACE, description="words the headline or titles contain")
    langs: list[KnownLang] = Field(default=[], max_length=50, description="a member in one of these languages")
    min_sources: Whole = Field(default=0, ge=0, le=10_000)
    min_languages: Whole = Field(default=0, ge=0, le=10_000)
    webhook: str | None = Field(default=None, max_length=2_000, pattern=WEBHOOK_URL,
                                description="POST each alert here (public http(s) addresses only, unless "
                                            "ingest.allow_networks; the name must resolve)")
    secret: str | None = Field(default=None, min_length=8, max_length=500,
                               description="signs each delivery (X-Storyline-Signature); only with a webhook")


class CompareIn(BaseModel):
    a: str | ArticleIn = Field(description="a stored article id, or an article")
    b: str | ArticleIn


class Error(BaseModel):
    detail: str


class Problem(BaseModel):
    field: str
    problem: str


class Invalid(BaseModel):
    detail: list[Problem]


READ_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "the request cannot be served (e.g. a store error)"},
    404: {"model": Error, "description": "no such article or story"},
    413: {"model": Error, "description": "body over serve.max_body_bytes"},
    414: {"model": Error, "description": "query string over serve.max_query_bytes"},
    422: {"model": Invalid, "description": "a field is missing or malformed"},
    503: {"model": Error, "description": "the store is unreachable for now; try again after Retry-After seconds"}}
ATOM_ANSWER: dict[int | str, dict[str, Any]] = {200: {"description": "an Atom feed (RFC 4287)",
                                                     "content": {"application/atom+xml": {}}}}
WRITE_ERRORS = READ_ERRORS | {401: {"model": Error, "description": "missing or wrong token"},
                              403: {"model": Error, "description": "a token of too low a scope, a cross-site request from "
                                                                   "a browser, or a Host not in serve.allowed_hosts"}}


def scope_needed(method: str, path: str) -> str:
    """The token scope a request needs (``access.SCOPES``): deleting, pruning and backing up are
    admin, other changes write, reading (and scoring a pair, which stores nothing) read."""
    if method == "DELETE" or path.startswith("/admin/"):
        return "admin"
    return "read" if method in SAFE_METHODS or path == "/compare" else "write"


class Gate:
    """ASGI middleware: origin, token scope and body size, checked before the app reads a byte."""

    def __init__(self, app, access: Access, max_body: int, hosts: frozenset[str] = frozenset(),
                 max_query: int = 8192, routes=()):
        self.app, self.access, self.max_body, self.hosts, self.max_query = app, access, max_body, hosts, max_query
        self.routes = routes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        send = _with_headers(send)
        if len(scope.get("query_string", b"")) > self.max_query:  # before any parsing: a long one costs seconds
            return await _json(send, 414, f"query string over {self.max_query:,} bytes (serve.max_query_bytes)")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["method"] in SAFE_METHODS:
            page = scope["path"] == "/" or scope["path"].startswith(UI_PATHS)
            if page and not self._host_allowed(headers):
                return await _json(send, 403, self._foreign_host(headers))
            if not page and not scope["path"].startswith(OPEN_PATHS) and \
                    (refusal := self.access.refuse("read", headers.get("authorization", ""), f"GET {scope['path']}")):
                return await _json(send, *refusal)
            return await self.app(scope, receive, send)
        if not {scope["method"], "*"} & methods_at(self.routes, scope):  # no route takes it: the router's 404 or 405,
            return await self.app(scope, receive, send)                  # whatever the token (the schema is public)
        refusal = self._refuse(scope, headers)
        if refusal:
            return await _json(send, *refusal)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            return await _json(send, 413, self._too_big())
        body, more = bytearray(), True
        while more:  # the body is read here, counted as it streams in; the app gets it replayed
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:
                return await _json(send, 413, self._too_big())
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    def _too_big(self) -> str:
        return f"request body over {self.max_body:,} bytes (serve.max_body_bytes)"

    def _host_allowed(self, headers: dict[str, str]) -> bool:
        """An IP literal (no name to rebind), a missing Host (no browser), or a configured name."""
        host = host_name(headers.get("host", ""))
        if not host or host in self.hosts or "*" in self.hosts:
            return True
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return True

    @staticmethod
    def _foreign_host(headers: dict[str, str]) -> str:
        return (f"Host {host_name(headers.get('host', ''))!r} is not one this server answers for; "
                "add it to serve.allowed_hosts if it is yours")

    def _refuse(self, scope, headers: dict[str, str]) -> tuple[int, str] | None:
        if not self._host_allowed(headers):
            return 403, self._foreign_host(headers)
        site = headers.get("sec-fetch-site")
        origin = headers.get("origin")
        if site in ("cross-site", "same-site") or (origin and urlsplit(origin).netloc != headers.get("host")):
            return 403, "cross-site requests are refused: use the UI served by this server, or a client that is not a browser"
        method, path = scope["method"], scope["path"]
        return self.access.refuse(scope_needed(method, path), headers.get("authorization", ""), f"{method} {path}")


def methods_at(routes, scope) -> set[str]:
    """The methods the routes answer at the request's path ("*": a mount, any method)."""
    from starlette.routing import Match

    out: set[str] = set()
    for route in routes:
        if route.matches(scope)[0] != Match.NONE:
            out |= getattr(route, "methods", None) or {"*"}
    return out


def host_name(host: str) -> str:
    """A Host header's name, lower-cased, without port or IPv6 brackets."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def allowed_hosts(settings: Settings, bound: str | None = None) -> frozenset[str]:
    """serve.allowed_hosts, the address bound and localhost (IP literals always pass)."""
    return frozenset(h.lower() for h in [*settings.serve["allowed_hosts"], bound or settings.serve["host"], "localhost"])


class Observed:
    """ASGI middleware, outermost: each request gets an id (a sane ``X-Request-ID`` it came with,
    else a new one; answered in the same header, and in every log line the request causes), its
    duration goes to ``storyline_http_request_duration_seconds`` under its route template, and a
    ``storyline.access`` line is logged."""

    def __init__(self, app, routes=()):
        self.app, self.routes = app, routes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        import time
        import uuid

        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if 0 < len(given) <= 64 and given.replace("-", "").replace("_", "").isalnum() else uuid.uuid4().hex
        token, status, started = REQUEST_ID.set(rid), [500], time.perf_counter()

        async def answered(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = list(message.get("headers", [])) + [(b"x-request-id", rid.encode())]
            await send(message)
        try:
            await self.app(scope, receive, answered)
        finally:
            seconds = time.perf_counter() - started
            route = self._template(scope)
            metrics.HTTP_SECONDS.labels(scope["method"], route, str(status[0])).observe(seconds)
            access.info("%s %s %d %.1f ms", scope["method"], route, status[0], seconds * 1000,
                        extra={"method": scope["method"], "route": route, "status": status[0], "ms": round(seconds * 1000, 1)})
            REQUEST_ID.reset(token)

    def _template(self, scope) -> str:
        """The route's template (never the raw path: a label keeps a small set of values); a
        request refused before routing is matched here."""
        from starlette.routing import Match

        route = scope.get("route")
        if route is None:
            route = next((r for r in self.routes if r.matches(scope)[0] != Match.NONE), None)
        return getattr(route, "path", None) or "unmatched"


def _with_headers(send):
    async def wrapped(message):
        if message["type"] == "http.response.start":
            message["headers"] = list(message.get("headers", [])) + HEADERS + [(b"content-security-policy", CSP)]
        await send(message)
    return wrapped


async def _json(send, status: int, detail: str) -> None:
    import json

    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def create_app(db: str = "storyline.db", settings: Settings | None = None, token: str | None = None,
               watch: bool = False, host: str | None = None, stop: Stop | None = None) -> FastAPI:
    """The app; ``token`` (default $STORYLINE_TOKEN) is a write token, besides the scoped ones of
    ``serve.tokens`` and $STORYLINE_TOKENS (``access.py``); ``watch`` polls the
    registered feeds in this process (taking turns with requests that write); ``host``, the
    address served on, is a Host name writes and the UI are answered for (``allowed_hosts``);
    ``stop``, the process's stop request (``run`` makes SIGTERM and Ctrl-C ask it): adds end
    after the article in hand, the watcher and the deliverer halt, and ``stop.kept`` counts
    what was added."""
    settings = settings or load_settings()
    stop = stop or Stop(settings.store["stop_timeout_s"])
    token = token if token is not None else os.environ.get("STORYLINE_TOKEN") or None
    gate = Access.from_config([*settings.serve["tokens"], *os.environ.get("STORYLINE_TOKENS", "").split(",")], token)
    # a request waits serve.store_wait_s for a connection to a shared store, not the CLI's timeout
    service = Storyline(open_store(db, settings.store["busy_timeout_s"], connect_timeout=settings.store["connect_timeout_s"],
                                   wait_s=settings.serve["store_wait_s"]), settings)
    write_lock = threading.Lock()
    watcher = Watcher(service, lock=write_lock, on_decision=stop.kept.decided)
    watching = WatchState()
    retention = Retention(service, settings.store["keep_days"], write_lock, stop=stop.requested)
    stop.on_request(watcher.halt)

    @contextlib.asynccontextmanager
    async def lifespan(_):
        thread = threading.Thread(target=_watch, args=(watcher, watching), name="storyline-watch", daemon=True) if watch else None
        retainer = (threading.Thread(target=_retain, args=(retention, watcher.stop), name="storyline-retain", daemon=True)
                    if retention.days > 0 else None)
        if retainer:
            retainer.start()
        if thread:
            watching.thread = thread
            thread.start()
        deliverer, delivering = monitor.start_delivery(service)  # alerts go out beside requests
        stop.on_request(deliverer.stop.set)
        yield
        deliverer.stop.set()
        watcher.halt()
        delivering.join(timeout=float(settings.alerts["timeout_s"]) + 5)
        deliverer.close()
        for t in (thread, retainer):
            if t:
                t.join(timeout=60)
        watcher.close()
        service.close()  # the index saved, the look-ahead worker ended

    app = FastAPI(title="storyline", version="0.1.0", docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="Which news articles report the same story, across languages.")
    app.add_middleware(Gate, access=gate, max_body=settings.serve["max_body_bytes"], hosts=allowed_hosts(settings, host),
                       max_query=settings.serve["max_query_bytes"], routes=app.router.routes)
    app.add_middleware(Observed, routes=app.router.routes)
    bearer = HTTPBearer(auto_error=False, description="a token of the scope the route needs (read, write or admin), "
                                                     "when the server has tokens (docs/operations.md#access)")

    def public(message: str) -> str:
        """Server paths stay out of responses."""
        return message.replace(service.store.path, "the store")

    @app.exception_handler(StorylineError)
    async def storyline_error(_, exc: StorylineError):
        return JSONResponse({"detail": public(str(exc))}, status_of(exc))

    @app.exception_handler(Unavailable)
    async def unavailable(_, exc: Unavailable):
        return JSONResponse({"detail": public(str(exc))}, 503,
                            headers={"Retry-After": str(math.ceil(settings.serve["store_wait_s"]))})

    @app.exception_handler(FieldError)
    async def bad_field(_, exc: FieldError):  # a name in use is a conflict with what is stored, not a malformed field
        return JSONResponse({"detail": [{"field": exc.field, "problem": exc.problem}]}, 409 if isinstance(exc, DuplicateName) else 422)

    @app.exception_handler(RequestValidationError)
    async def invalid(_, exc: RequestValidationError):
        errs = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "problem": e["msg"]} for e in exc.errors()]
        return JSONResponse({"detail": errs}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        headers = exc.headers
        if exc.status_code == 405:  # Starlette names the methods of the first route at the path; every route's count
            headers = (headers or {}) | {"Allow": ", ".join(sorted(methods_at(app.router.routes, request.scope) - {"*"}))}
        return JSONResponse({"detail": str(exc.detail)}, exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def crash(_, exc: Exception):
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, 500)

    def _add(items: list) -> dict:
        with write_lock:
            report, decisions = service.add(items, on_decision=stop.kept.decided, stop=stop.requested)
        if stop.requested.is_set() and (done := report.added + report.unchanged + report.failed) < len(items):
            raise Unavailable(f"the server is stopping: {done} of the {len(items)} articles were taken; send the "
                              "others again (those added are then unchanged)")
        return {"articles": [{"id": d.article_id, "story_id": d.story_id, "new_story": d.new_story} for d in decisions],
                "unchanged": report.unchanged, "skipped": [public(s) for s in report.skipped], "notes": report.notes}

    @app.get("/health")
    def health() -> dict:
        """Counts; with ``watching`` (and ``watch_error`` while it is failing) when the server polls feeds."""
        return ({"status": "ok", "articles": service.count(), "stories": service.count_stories()}
                | (watching.to_dict() if watch else {}))

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics_text() -> PlainTextResponse:
        """Counters and histograms in Prometheus' text format: articles by outcome, stories created
        and merged, feed polls, pages fetched, request durations by route, add latency, articles
        stored, index vectors, feeds due, alert deliveries and the outbox's backlog
        (docs/operations.md lists them)."""
        body, content_type = metrics.exposition()
        return PlainTextResponse(body, media_type=content_type)

    @app.get("/stats")
    def stats() -> dict:
        """Articles, stories, languages, bytes on disk and the index's state (as `storyline stats`)."""
        info = service.stats(live=True)  # the index this server searches, caught up
        info["index"].pop("path", None)  # no server paths in responses
        return info

    @app.post("/articles", dependencies=[Security(bearer)], responses=WRITE_ERRORS)
    def post_articles(body: ArticleIn | list[ArticleIn]) -> dict:
        """One article or a list (same fields as the file formats); each joins a story.

        An article without an id gets 'post-' and a hash of its title and text: ids never
        collide, and posting the same text again stores nothing twice.
        """
        items = body if isinstance(body, list) else [body]
        arts = []
        for i, a in enumerate(items):
            try:
                art = a.article("", f"body[{i}]")
                art.id = art.id or f"post-{content_hash(art)}"
                arts.append(art)
            except InputError as err:
                arts.append(err)
        return _add(arts)

    @app.post("/files", dependencies=[Security(bearer)], responses=WRITE_ERRORS)
    async def post_files(files: list[UploadFile] = File(..., min_length=1)) -> dict:
        """Upload files in any format `storyline add` reads."""
        items: list[Any] = []
        for f in files:
            name = Path(f.filename or "upload.txt").name
            raw = await f.read()
            try:
                if not raw.strip():
                    raise InputError(name, "empty file")
                items.extend(parse_text(decode(raw, name), Path(name).suffix.lower() or ".txt", Path(name).stem, name))
            except InputError as err:
                items.append(err)
        return _add(items)

    @app.post("/urls", dependencies=[Security(bearer)], responses=WRITE_ERRORS)
    def post_urls(body: UrlsIn) -> dict:
        """Fetch pages and add them (as `storyline add URL`); a page that cannot be fetched or
        read is listed in ``skipped`` with the reason."""
        return _add(list(read_urls([u.strip() for u in body.urls], watcher.fetcher)))

    @app.get("/feeds")
    def list_feeds() -> dict:
        """The registered feeds and their health (last success, last error, failures in a row, articles added)."""
        return {"feeds": [f.to_dict() for f in service.feeds()]} | watching.to_dict()

    @app.post("/feeds", dependencies=[Security(bearer)], responses=WRITE_ERRORS)
    def post_feed(body: FeedIn) -> dict:
        """Register a feed or sitemap (or the feeds a home page links to); polled at once by a
        server started with --watch, else by `storyline watch`."""
        return {"feeds": [f.to_dict() for f in watcher.register(body.url.strip(), body.interval_s)]}

    @app.get("/watchlists")
    def list_watchlists() -> dict:
        """The watchlists (secrets not shown)."""
        return {"watchlists": [w.to_dict() for w in monitor.watchlists(service)]}

    @app.post("/watchlists", dependencies=[Security(bearer)], status_code=201, responses=WRITE_ERRORS | {
        409: {"model": Invalid, "description": "a watchlist of that name exists (the field is name)"}})
    def post_watchlist(body: WatchlistIn) -> dict:
        """Save a watchlist (as `storyline watchlists add`); it alerts on stories that come to match
        it from now on. 422 names the field: no criterion, an unknown language, a webhook that is
        not a public http(s) URL or has no secret; 409 a name in use."""
        w = monitor.add_watchlist(service, body.name, body.entities, body.query, body.langs, body.min_sources,
                                  body.min_languages, body.webhook, body.secret, watcher.fetcher)
        return {"watchlist": w.to_dict()}

    @app.get("/watchlists/{name}", responses=READ_ERRORS)
    def get_watchlist(name: str) -> dict:
        """A watchlist, the stories matching it now (never pushed) and its latest alerts."""
        w = monitor.watchlist(service, name)
        return {"watchlist": w.to_dict(), "matching": [{"story": s.to_dict(), "matched": m} for s, m in monitor.matching(service, w)],
                "alerts": [a.to_dict() for a in monitor.alerts(service, name)]}

    @app.delete("/watchlists/{name}", dependencies=[Security(bearer)], responses=WRITE_ERRORS)
    def delete_watchlist(name: str) -> dict:
        """Forget a watchlist and its undelivered alerts."""
        monitor.remove_watchlist(service, name)
        return {"removed": name}

    @app.get("/watchlists/{name}/alerts", responses=READ_ERRORS)
    def get_alerts(name: str, limit: int = Query(50, ge=1, le=500)) -> dict:
        """A watchlist's alerts, newest first, each with its delivery state and attempts."""
        return {"alerts": [a.to_dict() | {"attempts_log": monitor.attempts(service, a.id)} for a in monitor.alerts(service, name, limit)]}

    @app.get("/watchlists/{name}/feed.atom", response_class=Response, responses=READ_ERRORS | {
        200: {"description": "an Atom feed", "content": {"application/atom+xml": {"schema": {"type": "string"}}}}})
    def watchlist_feed(name: str, request: Request) -> Response:
        """A watchlist's alerts as an Atom feed (the entry id is the alert's delivery id)."""
        w = monitor.watchlist(service, name)
        base = str(request.base_url).rstrip("/")
        return _atom(atom.feed(atom.urn("watchlist", name), f"storyline: {name}", str(request.url),
                               atom.alert_entries(monitor.alerts(service, name), base), w.created,
                               page=f"{base}/ui/watchlists/{quote(name, safe='')}"))

    @app.get("/articles/{article_id:path}", responses=READ_ERRORS)
    def get_article(article_id: str) -> dict:
        art = service.article(article_id)
        d = art.to_dict()
        d.pop("path", None)  # where the server read it: no server path in a response
        d["story_id"] = service.story_of(article_id)
        return d

    @app.delete("/articles/{article_id:path}", dependencies=[Security(bearer)], responses=WRITE_ERRORS)
    def delete_article(article_id: str, forbid: bool = False) -> dict:
        """Delete an article (as `storyline delete`): its vectors, index entry and membership go,
        its story is summarised anew (or is gone, if it was its last article); ``forbid``: the
        watcher never fetches its page again."""
        from .ops import delete

        with write_lock:
            done = delete(service, [article_id], forbid)
        if done.missing:
            raise NotFoundError(f"no article {article_id!r}")
        return asdict(done)

    @app.post("/admin/prune", dependencies=[Security(bearer)], responses=WRITE_ERRORS)
    def admin_prune(body: PruneIn) -> dict:
        """Delete the articles older than a day (as `storyline prune --before`); admin scope."""
        from .ops import prune

        with write_lock:
            done = prune(service, dt.date.fromisoformat(body.before))
        return asdict(done)

    @app.post("/admin/backup", dependencies=[Security(bearer)], responses=WRITE_ERRORS)
    def admin_backup() -> dict:
        """Back the SQLite store and its index up (as `storyline backup`) to a new file in
        ``serve.backup_dir`` (beside the store); admin scope. Answers the file's name, not its path."""
        from .ops import backup_beside

        info = backup_beside(service, settings.serve["backup_dir"])
        return {"file": Path(info["path"]).name, "bytes": info["bytes"], "index": info["index"] is not None}

    @app.get("/stories", responses=READ_ERRORS)
    def list_stories(lang: str | None = LANG, since: Day | None = LISTED_SINCE, until: Day | None = LISTED_UNTIL,
                     entity: str | None = ENTITY, q: str | None = HEADLINE_WORDS,
                     offset: int = Query(0, ge=0, le=MAX_OFFSET), limit: int = Query(50, ge=1, le=500),
                     accept_language: str | None = READER) -> dict:
        """Stories newest first; ``lang`` filters (a member in that language) and is the reader's
        language (else Accept-Language): each story then carries ``display``."""
        dates = [d.isoformat() if d else None for d in (since, until)]
        reader = reader_lang(lang, accept_language)
        total, page = service.query_stories(StoryFilter(lang and reader, *dates, entity, q), offset, limit)
        # plain JSON types already: straight to the response, without FastAPI's per-value encoder
        return varying({"total": total, "offset": offset, "limit": limit, "stories": [for_story(s, reader) for s in page]})

    @app.get("/export", responses=READ_ERRORS | {200: {"description": "the stories, streamed", "content": {
        media: {} for media in exporting.MEDIA_TYPES.values()}}}, response_class=StreamingResponse)
    def export(format: str = Query("jsonl", description="jsonl (a story a line, members nested), csv or parquet "
                                                        "(a row per member)", json_schema_extra={"enum": list(exporting.FORMATS)}),
               lang: str | None = LANG, since: Day | None = LISTED_SINCE, until: Day | None = LISTED_UNTIL,
               entity: str | None = ENTITY, q: str | None = HEADLINE_WORDS,
               limit: int | None = Query(None, ge=1, description="at most this many stories, newest first (default: all)")
               ) -> StreamingResponse:
        """Stories with their members for notebooks (as `storyline export`), streamed as the store
        is read: 422 names ``format`` when it is none of jsonl, csv, parquet; 503 when Parquet's
        pyarrow is not installed."""
        dates = [d.isoformat() if d else None for d in (since, until)]
        where = StoryFilter(lang and lang.lower(), *dates, entity, q)
        parts = exporting.chunks(exporting.stories(service.store, where, limit), format)
        first = next(parts, b"")  # the first page read before answering: a store error is still a status
        return StreamingResponse(itertools.chain([first], parts), media_type=exporting.MEDIA_TYPES[format], headers={
            "Content-Disposition": f'attachment; filename="stories.{format}"'})

    @app.get("/stories/top", responses=READ_ERRORS)
    def top(hours: float | None = HOURS, since: Day | None = SINCE, until: Day | None = UNTIL, lang: str | None = LANG,
            limit: int = TOP_LIMIT, accept_language: str | None = READER) -> JSONResponse:
        """The stories carried most widely in a window (as `storyline top`): by distinct sources,
        languages, articles and growth against the window before, each with ``why``; ``lang``
        filters and is the reader's language (else Accept-Language; each story's ``display``).
        Every bound given applies: bounds that cross make an empty window."""
        since, until = (d and d.isoformat() for d in (since, until))
        reader = reader_lang(lang, accept_language)
        win, ranked = monitor.top(service, hours, since, until, lang and reader, limit)
        return varying({"window": win.to_dict(), "stories": [r.to_dict() | {"story": for_story(r.story, reader)} for r in ranked]})

    @app.get("/stories/top/feed.atom", responses=ATOM_ANSWER | READ_ERRORS, response_class=Response)
    def top_feed(request: Request, hours: float | None = HOURS, since: Day | None = SINCE, until: Day | None = UNTIL,
                 lang: str | None = LANG, limit: int = TOP_LIMIT, accept_language: str | None = READER) -> Response:
        """The top stories as an Atom feed (the parameters of /stories/top): an entry per story,
        under the story's own id, updated when its newest article was published."""
        since, until = (d and d.isoformat() for d in (since, until))
        reader = reader_lang(lang, accept_language)
        win, ranked = monitor.top(service, hours, since, until, lang and reader, limit)
        base = str(request.base_url).rstrip("/")
        given = "&".join(f"{k}={v}" for k, v in (("hours", hours), ("since", since), ("until", until),
                                                 ("lang", lang and reader), ("limit", limit)) if v is not None)
        title = f"storyline: top stories{f' ({lang and reader})' if lang else ''}"
        return _atom(atom.feed(atom.urn("top", given), title, str(request.url), atom.top_entries(ranked, base, reader),
                               page=f"{base}/?{request.url.query}" if request.url.query else f"{base}/"),
                     vary=True)

    @app.get("/stories/{story_id:path}/feed.atom", responses=ATOM_ANSWER | READ_ERRORS, response_class=Response)
    def story_feed(story_id: str, request: Request) -> Response:
        """A story's newest articles as an Atom feed (an id from before a merge gives the story
        it became part of); an entry per article, under the article's own id."""
        story = service.story(story_id)
        base = str(request.base_url).rstrip("/")
        return _atom(atom.feed(atom.urn("story-feed", story.id), f"storyline: {story.headline or story.id}", str(request.url),
                               atom.story_entries(story, base), page=atom.story_page(base, story.id)))

    @app.get("/stories/{story_id:path}", responses=READ_ERRORS)
    def get_story(story_id: str, lang: str | None = LANG, related: bool = True,
                  accept_language: str | None = READER) -> JSONResponse:
        """One story, by its id or an id it had before a merge (then ``requested`` is that id and
        Content-Location names the story's own address); with the related stories unless
        ``related=false``; ``lang`` (else Accept-Language) is the reader's language: the headline
        and ``display``."""
        reader = reader_lang(lang, accept_language)
        story = service.story(story_id, lang and reader)
        body = for_story(story, reader) | ({"related": service.related(story)} if related else {})
        headers = {"Content-Location": f"/stories/{quote(story.id, safe='')}"} if story.requested else None
        return varying(body, headers)

    @app.get("/why/{article_id:path}", responses=READ_ERRORS)
    def why(article_id: str) -> dict:
        return service.why(article_id)

    @app.post("/compare", responses=READ_ERRORS | {403: WRITE_ERRORS[403]})
    def compare(body: CompareIn) -> dict:
        """Two articles, each a stored id or a new article -> the seven scores, the relation and the evidence.

        400 when an article given in full has too little text to score (under read.min_text_chars
        after cleaning) or an unknown language: that is not decidable from the schema.
        """
        a, b = (x if isinstance(x, str) else x.article(name, name) for x, name in ((body.a, "a"), (body.b, "b")))
        return service.compare(a, b).to_dict()

    _docs(app)
    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(WEB / "favicon.svg", media_type="image/svg+xml")

    @app.get("/", include_in_schema=False)
    @app.get("/ui/{rest:path}", include_in_schema=False)
    def ui(rest: str = "") -> FileResponse:
        return FileResponse(WEB / "index.html")

    app.state.service, app.state.stop = service, stop
    return app


def for_story(story, reader: str | None) -> dict:
    """A story's fields, and what a reader of ``reader`` is shown of it (``display``) when there is one."""
    return story.to_dict() | ({"display": shown(story, reader)} if reader else {})


def _atom(body: bytes, vary: bool = False) -> Response:
    return Response(body, media_type="application/atom+xml", headers={"Vary": "Accept-Language"} if vary else None)


def varying(body: dict, headers: dict | None = None) -> JSONResponse:
    """A JSON answer that may differ by Accept-Language (caches keep one per language)."""
    return JSONResponse(body, headers=(headers or {}) | {"Vary": "Accept-Language"})


class WatchState:
    """Whether the server's watcher is polling: its thread alive and its last run not failed."""

    def __init__(self):
        self.thread: threading.Thread | None = None
        self.error: str | None = None  # the failure it is waiting out, with its time

    def to_dict(self) -> dict:
        alive = self.thread is not None and self.thread.is_alive()
        return {"watching": alive and self.error is None} | ({"watch_error": self.error} if self.error else {})


def _watch(watcher: Watcher, state: WatchState, retry_s: float = 60.0) -> None:
    """The server's watcher: any failure (a store error, a bug one input found) is logged,
    reported by /feeds and /health, and the watcher restarted a minute later."""
    while not watcher.stop.is_set():
        try:
            watcher.run(on_poll=lambda p: (setattr(state, "error", None),
                                           log.info("watch: %d feeds polled, %d added", p.feeds, p.added)))
        except Exception as exc:
            state.error = f"{dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')} {type(exc).__name__}: {exc}"
            log.warning("watch: %s; polling again in a minute", state.error,
                        exc_info=None if isinstance(exc, StorylineError) else exc)
            watcher.stop.wait(retry_s)


def _retain(retention: Retention, stop: threading.Event) -> None:
    """The server's retention: ``store.keep_days`` applied once a day (checked hourly)."""
    while True:
        try:
            retention.tick()
        except StorylineError as exc:
            log.warning("retention: %s; trying again in an hour", exc)
        if stop.wait(3600):
            return


def _docs(app: FastAPI) -> None:
    """Swagger UI 5 (reads OpenAPI 3.1) from the fastapi-offline package: the docs work offline,
    like the UI, and under the same Content-Security-Policy (the page starts it from a file)."""
    import fastapi_offline

    app.mount("/docs-assets", StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static"), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        return FileResponse(WEB / "docs.html")


def run(app: FastAPI, host: str, port: int, verbose: bool = False, announce=print) -> None:
    """Serve ``app`` until Ctrl-C or SIGTERM: one line once it listens (the address, the store and
    its article count), and a line per request only when ``verbose``. A stop signal asks the app's
    ``Stop``: requests in flight get half its bound to finish (uvicorn's graceful shutdown), the
    background threads halt after the article in hand; a second signal ends the process at once."""
    import uvicorn

    stop: Stop = app.state.stop

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):  # not re-raised once served (uvicorn's way): the caller says what was kept
            self.should_exit = True
            stop.signalled(sig, frame)

        async def startup(self, sockets=None):
            await super().startup(sockets)
            if self.should_exit:  # the port was taken: uvicorn said so
                return
            bound_port = self.servers[0].sockets[0].getsockname()[1] if self.servers else port
            shown = f"[{host}]" if ":" in host else host
            service = app.state.service
            n = service.count()
            announce(f"storyline: serving http://{shown}:{bound_port}/ over {service.store.path} "
                     f"({n} article{'' if n == 1 else 's'}); Ctrl-C stops")

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=verbose,
                            timeout_graceful_shutdown=max(1, round(stop.bound_s / 2)))
    if verbose:  # uvicorn's access lines only (on stderr, beside the line above); its start-up chatter stays at warning
        access = logging.getLogger("uvicorn.access")
        access.setLevel(logging.INFO)
        for handler in access.handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(sys.stderr)
    Server(config).run()
