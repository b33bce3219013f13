"""Log lines for people (text) or machines (``--log-format json``: one JSON object a line, with
the id of the HTTP request it belongs to)."""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
FORMATS = ("text", "json")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, the request id when there is one, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        if (rid := REQUEST_ID.get()) is not None:
            line["request_id"] = rid
        line |= {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(verbose: bool = False, fmt: str = "text") -> None:
    """The root logger for the CLI: text lines, or JSON lines (then each HTTP request logs one
    ``storyline.access`` line: method, route, status, milliseconds)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter("%(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True)
    # a line per request for machines; people ask uvicorn's (serve --verbose)
    logging.getLogger("storyline.access").setLevel(logging.INFO if fmt == "json" else logging.WARNING)
