"""The store's tables, columns and indexes, described once: a new store of either backend is
created from this, PostgreSQL adds what an older store lacks from it, SQLite's migrations
(``sqlite.MIGRATIONS``) bring an older store to it, and ``tests/test_schema.py`` checks each
backend's actual schema against it.

Types are the store's own ("text", "int", "bigint", "real", "blob", "packed": deflated JSON,
"serial": a key the database numbers); each backend names them in ``TYPES``. A column's
``retired`` flag marks what an older store keeps and nothing reads (never created anew).
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

Dialect = str  # "sqlite" | "postgres"
TYPES = {
    "sqlite": {"text": "TEXT", "int": "INTEGER", "bigint": "INTEGER", "real": "REAL", "blob": "BLOB",
               "packed": "TEXT", "serial": "INTEGER"},  # packed: a TEXT column since version 1 (SQLite keeps bytes in it)
    "postgres": {"text": "TEXT", "int": "INTEGER", "bigint": "BIGINT", "real": "DOUBLE PRECISION", "blob": "BYTEA",
                 "packed": "BYTEA", "serial": "BIGSERIAL"},
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool = False
    default: str | None = None  # an SQL literal
    unique: bool = False  # PostgreSQL: a constraint; SQLite: a unique index named <table>_<column>
    references: str | None = None  # "table(column)"
    retired: bool = False

    def ddl(self, dialect: Dialect, key: bool = False) -> str:
        out = f"{self.name} {TYPES[dialect][self.type]}"
        if key:
            out += " PRIMARY KEY"
        if self.not_null:
            out += " NOT NULL"
        if self.default is not None:
            out += f" DEFAULT {self.default}"
        if self.unique and dialect == "postgres":
            out += " UNIQUE"
        if self.references:
            out += f" REFERENCES {self.references}"
        return out


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    only: Dialect | None = None  # a table one backend has
    virtual: str | None = None  # SQLite: the module it is made with (its shadow tables are the module's)
    clustered: bool = False  # SQLite: rows kept in their key's order (WITHOUT ROWID), a range of the key reads them

    def current(self) -> list[Column]:
        return [c for c in self.columns if not c.retired]

    def ddl(self, dialect: Dialect) -> str:
        if self.virtual:
            return f"CREATE VIRTUAL TABLE IF NOT EXISTS {self.name} USING {self.virtual}"
        one = len(self.key) == 1
        parts = [c.ddl(dialect, key=one and c.name == self.key[0]) for c in self.current()]
        if not one:
            parts.append(f"PRIMARY KEY ({', '.join(self.key)})")
        rowid = " WITHOUT ROWID" if self.clustered and dialect == "sqlite" else ""
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({', '.join(parts)}){rowid}"


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    on: str  # the indexed columns (with DESC), or one expression (``expression``)
    unique: bool = False
    expression: bool = False
    using: str | None = None  # PostgreSQL's index method
    only: Dialect | None = None

    def ddl(self, dialect: Dialect) -> str:
        on = f"({self.on})" if self.expression and dialect == "postgres" else self.on
        using = f" USING {self.using}" if self.using else ""
        return f"CREATE {'UNIQUE ' if self.unique else ''}INDEX IF NOT EXISTS {self.name} ON {self.table}{using} ({on})"


def C(name: str, type: str = "text", **kw) -> Column:
    return Column(name, type, **kw)


NN = {"not_null": True}
TABLES = (
    Table("meta", (C("key"), C("value")), ("key",)),
    Table("articles", (C("id"), C("hash", **NN), C("lang"), C("title", retired=True), C("source"), C("published"),
                       C("event_date"), C("data", "packed", **NN), C("seq", "bigint", unique=True, **NN)), ("id",)),
    Table("embeddings", (C("hash", **NN), C("encoder", **NN), C("dim", "int", **NN), C("n", "int", **NN), C("doc", "blob"),
                         C("title", "blob"), C("lead", "blob"), C("sentences", "blob"), C("sentence_texts", retired=True),
                         C("codec"), C("owners", "blob"), C("lead_rows", "int")), ("hash", "encoder")),
    Table("stories", (C("id"), C("data", "packed", **NN), C("first_seen"), C("last_seen", default="''", **NN),
                      C("size", "int", default="0", **NN)), ("id",)),
    Table("story_langs", (C("story_id", **NN), C("lang", **NN)), ("lang", "story_id")),
    Table("members", (C("article_id", references="articles(id)"), C("story_id", **NN), C("decision"), C("duplicate_of"),
                      C("published"), C("source"), C("lang")), ("article_id",)),
    # articles per story and publication day, with that day's distinct sources and languages (stories.py)
    Table("story_days", (C("day", **NN), C("story_id", **NN), C("articles", "int", **NN), C("sources", "int", **NN),
                         C("langs", "int", **NN)), ("day", "story_id"), clustered=True),
    Table("feeds", (C("url"), C("next_poll", "real", **NN), C("articles", "int", **NN), C("data", **NN)), ("url",)),
    Table("seen", (C("url"), C("status", **NN), C("tries", "int", **NN), C("article_id"), C("at", **NN)), ("url",)),
    Table("story_aliases", (C("id"), C("story_id", **NN), C("data")), ("id",)),
    Table("dropped", (C("n", "serial"), C("seq", "bigint", **NN)), ("n",)),
    Table("watchlists", (C("name"), C("data", **NN), C("since_seq", "bigint", **NN)), ("name",)),
    Table("alerts", (C("id"), C("watchlist", **NN), C("story_id", **NN), C("created", **NN), C("seq", "bigint", **NN),
                     C("data", **NN), C("state", **NN), C("attempts", "int", **NN), C("next_try", "real", default="0", **NN),
                     C("claimed_until", "real", default="0", **NN), C("delivered_at"), C("last_error")), ("id",)),
    Table("alert_attempts", (C("alert_id", **NN), C("n", "int", **NN), C("at", **NN), C("status", "int"), C("error")),
          ("alert_id", "n")),
    # what the cleaner learns of each source: its articles counted, and how many of them hold each line (lines.py)
    Table("source_articles", (C("source"), C("articles", "int", **NN)), ("source",)),
    Table("source_lines", (C("source", **NN), C("line", "bigint", **NN), C("articles", "int", **NN)), ("source", "line")),
    # story text search: SQLite's FTS5 trigram tables keyed by the story's rowid; PostgreSQL's columns of the story row
    Table("story_titles", (C("titles"),), (), only="sqlite", virtual="fts5(titles, tokenize='trigram', detail=none)"),
    Table("story_entities", (C("entities"),), (), only="sqlite", virtual="fts5(entities, tokenize='trigram', detail=none)"),
)
PG_STORY_TEXT = (C("titles", default="''", **NN), C("entities", default="''", **NN))  # appended to stories in PostgreSQL
INDEXES = (
    Index("articles_hash", "articles", "hash"),
    Index("articles_lang", "articles", "lang"),
    Index("articles_day", "articles", "COALESCE(event_date, published)", expression=True),
    Index("stories_order", "stories", "last_seen DESC, size DESC, id DESC"),
    Index("stories_first_seen", "stories", "first_seen, last_seen, size, id"),
    Index("stories_titles", "stories", "titles gin_trgm_ops", using="gin", only="postgres"),
    Index("stories_entities", "stories", "entities gin_trgm_ops", using="gin", only="postgres"),
    Index("story_langs_story", "story_langs", "story_id"),
    Index("members_story", "members", "story_id, published, source, lang"),
    Index("story_days_story", "story_days", "story_id"),
    Index("feeds_due", "feeds", "next_poll"),
    Index("story_aliases_story", "story_aliases", "story_id"),
    Index("dropped_seq", "dropped", "seq"),
    Index("alerts_watchlist", "alerts", "watchlist, story_id, seq"),
    Index("alerts_due", "alerts", "state, next_try"),
)


def table(name: str) -> Table:
    return next(t for t in TABLES if t.name == name)


def tables(dialect: Dialect) -> list[Table]:
    """The tables of one backend, as a new store has them."""
    out = []
    for t in TABLES:
        if t.only in (None, dialect):
            out.append(Table(t.name, t.columns + PG_STORY_TEXT, t.key) if dialect == "postgres" and t.name == "stories" else t)
    return out


def indexes(dialect: Dialect) -> list[Index]:
    """The indexes of one backend, with SQLite's unique index for each unique column."""
    out = [i for i in INDEXES if i.only in (None, dialect)]
    if dialect == "sqlite":
        out += [Index(f"{t.name}_{c.name}", t.name, c.name, unique=True) for t in TABLES for c in t.current() if c.unique]
    return out


def create(dialect: Dialect, existing: Collection[tuple[str, str]] = ()) -> list[str]:
    """The statements that make a new store of ``dialect``, or, given the (table, column) pairs an
    existing store has, that add the tables and columns it lacks; then every index (if missing)."""
    have = {t for t, _ in existing}
    out = []
    for t in tables(dialect):
        if t.name not in have:
            out.append(t.ddl(dialect))
        else:
            out += [f"ALTER TABLE {t.name} ADD COLUMN {c.ddl(dialect)}" for c in t.current() if (t.name, c.name) not in existing]
    return out + [i.ddl(dialect) for i in indexes(dialect)]
