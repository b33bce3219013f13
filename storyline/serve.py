"""Serve stage: the HTTP API and the web UI over one store, in one process (FastAPI + uvicorn)."""
from __future__ import annotations

import hmac
import os
import threading
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, File, Header, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from .errors import InputError, StorylineError
from .read import decode, parse_text, record_to_article
from .service import Storyline, compare_articles
from .settings import Settings, load_settings
from .store import open_store

WEB = Path(__file__).parent / "web"


class ArticleIn(BaseModel):
    text: str = Field(min_length=1)
    id: str | None = None
    url: str | None = None
    title: str | None = None
    lang: str | None = None
    published: str | None = None
    source: str | None = None


class CompareIn(BaseModel):
    a: str | ArticleIn = Field(description="a stored article id, or an article")
    b: str | ArticleIn


def create_app(db: str = "storyline.db", settings: Settings | None = None, token: str | None = None) -> FastAPI:
    """The app; ``token`` (default $STORYLINE_TOKEN) guards every write."""
    settings = settings or load_settings()
    token = token if token is not None else os.environ.get("STORYLINE_TOKEN") or None
    service = Storyline(open_store(db), settings)
    write_lock = threading.Lock()
    max_body = settings.serve["max_body_bytes"]
    app = FastAPI(title="storyline", version="0.1.0",
                  description="Which news articles report the same story, across languages.")

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > max_body:
            return JSONResponse({"detail": f"request body over {max_body:,} bytes (serve.max_body_bytes)"}, 413)
        return await call_next(request)

    @app.exception_handler(StorylineError)
    async def storyline_error(_, exc: StorylineError):
        status = 404 if str(exc).startswith("no ") else 400
        return JSONResponse({"detail": str(exc)}, status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_, exc: RequestValidationError):
        errs = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "problem": e["msg"]} for e in exc.errors()]
        return JSONResponse({"detail": errs}, 422)

    @app.exception_handler(Exception)
    async def crash(_, exc: Exception):
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, 500)

    def writer(authorization: str | None = Header(default=None)) -> None:
        if token is None:
            return
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "missing or wrong token (Authorization: Bearer $STORYLINE_TOKEN)")

    def _add(items) -> dict:
        with write_lock:
            report, decisions = service.add(items)
        return {"articles": [{"id": d.article_id, "story_id": d.story_id, "new_story": d.new_story} for d in decisions],
                "unchanged": report.unchanged, "skipped": report.skipped}

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "articles": service.count(), "stories": len(service.store.stories())}

    @app.post("/articles", dependencies=[Depends(writer)])
    def post_articles(body: ArticleIn | list[ArticleIn]) -> dict:
        """One article or a list (same fields as the file formats); each joins a story."""
        items = body if isinstance(body, list) else [body]
        arts = []
        for i, a in enumerate(items):
            try:
                arts.append(record_to_article(a.model_dump(), f"post-{service.count() + i + 1}", f"body[{i}]"))
            except InputError as err:
                arts.append(err)
        return _add(arts)

    @app.post("/files", dependencies=[Depends(writer)])
    async def post_files(files: list[UploadFile] = File(...)) -> dict:
        """Upload files in any format `storyline add` reads."""
        items: list[Any] = []
        for f in files:
            name = f.filename or "upload.txt"
            raw = await f.read()
            try:
                if not raw.strip():
                    raise InputError(name, "empty file")
                items.extend(parse_text(decode(raw, name), Path(name).suffix.lower() or ".txt", Path(name).stem, name))
            except InputError as err:
                items.append(err)
        return _add(items)

    @app.get("/articles/{article_id}")
    def get_article(article_id: str) -> dict:
        art = service.article(article_id)
        d = art.to_dict()
        d["story_id"] = (service.store.decision(article_id) or (None,))[0]
        return d

    @app.get("/stories")
    def list_stories(lang: str | None = None, since: str | None = None, until: str | None = None,
                     entity: str | None = None, q: str | None = None, offset: int = 0, limit: int = 50) -> dict:
        if limit < 1 or limit > 500 or offset < 0:
            raise HTTPException(422, "limit must be in [1, 500] and offset >= 0")
        found = service.stories(lang, since, until, entity, q)
        return {"total": len(found), "offset": offset, "limit": limit,
                "stories": [s.to_dict() for s in found[offset:offset + limit]]}

    @app.get("/stories/{story_id}")
    def get_story(story_id: str, lang: str | None = None) -> dict:
        return service.story(story_id, lang).to_dict()

    @app.get("/why/{article_id}")
    def why(article_id: str) -> dict:
        return service.why(article_id)

    @app.post("/compare")
    def compare(body: CompareIn) -> dict:
        """Two stored ids or two articles -> the seven scores, the relation and the evidence."""
        if isinstance(body.a, str) and isinstance(body.b, str):
            return service.compare_ids(body.a, body.b).to_dict()
        if isinstance(body.a, str) or isinstance(body.b, str):
            raise HTTPException(422, "give two ids or two articles, not one of each")
        a = record_to_article(body.a.model_dump(), "a", "a")
        b = record_to_article(body.b.model_dump(), "b", "b")
        return compare_articles(a, b, service.pipeline).to_dict()

    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/", include_in_schema=False)
    @app.get("/ui/{rest:path}", include_in_schema=False)
    def ui(rest: str = "") -> FileResponse:
        return FileResponse(WEB / "index.html")

    app.state.service = service
    return app
