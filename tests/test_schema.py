"""Each backend's actual schema, read back from the database, is what ``store/schema.py``
describes: for a new store, and for an older one once migrated (SQLite from its version-1 DDL and
from stores written by earlier versions; PostgreSQL from a store that lacks later versions' parts)."""
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from storyline.store import open_store, schema
from storyline.store.sql import SCHEMA_VERSION
from storyline.store.sqlite import V1

DATA = Path(__file__).parent / "data"


def _cols(text: str) -> str:
    """An index's columns or expression, as both backends and the description can be compared."""
    return re.sub(r"[\s()\"]", "", text).lower()


def described(dialect: str) -> dict:
    tables = {t.name: [(c.name, schema.TYPES[dialect][c.type].lower(), c.not_null or c.name in t.key and dialect == "postgres",
                        c.default) for c in t.current()] for t in schema.tables(dialect) if not t.virtual}
    if dialect == "postgres":  # a serial column is a bigint numbered by a sequence
        tables = {t: [(n, "bigint" if ty == "bigserial" else ty, nn, "nextval" if ty == "bigserial" else d) for n, ty, nn, d in cols]
                  for t, cols in tables.items()}
    indexes = {i.name: (i.table, i.unique, _cols(i.on.replace(" gin_trgm_ops", ""))) for i in schema.indexes(dialect)}
    if dialect == "postgres":  # a unique column is a constraint, with its index
        indexes |= {f"{t.name}_{c.name}_key": (t.name, True, c.name) for t in schema.tables(dialect) for c in t.current() if c.unique}
    return {"tables": tables, "keys": {t.name: tuple(t.key) for t in schema.tables(dialect) if not t.virtual},
            "virtual": {t.name: _cols(t.virtual) for t in schema.tables(dialect) if t.virtual}}  | {"indexes": indexes}


def retired(table: str, column: str) -> bool:
    return any(t.name == table and c.name == column and c.retired for t in schema.TABLES for c in t.columns)


def sqlite_actual(path) -> dict:
    db = sqlite3.connect(path)
    rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
    virtual = {name: _cols(sql.split(" USING ", 1)[1]) for kind, name, _, sql in rows if kind == "table" and "VIRTUAL" in sql}
    shadow = tuple(f"{v}_" for v in virtual)
    out = {"tables": {}, "keys": {}, "virtual": virtual, "indexes": {}}
    for kind, name, table, sql in rows:
        if kind == "table" and name not in virtual and not name.startswith(shadow):
            info = db.execute(f"PRAGMA table_info({name})").fetchall()
            out["tables"][name] = [(c[1], c[2].lower(), bool(c[3]), c[4]) for c in info if not retired(name, c[1])]
            out["keys"][name] = tuple(c[1] for c in sorted((c for c in info if c[5]), key=lambda c: c[5]))
        elif kind == "index" and sql:  # sql None: the index of a primary key
            out["indexes"][name] = (table, sql.upper().startswith("CREATE UNIQUE"), _cols(sql.split(" ON ", 1)[1].split(table, 1)[1]))
    db.close()
    return out


def postgres_actual(address: str) -> dict:
    import psycopg

    with psycopg.connect(address) as db:
        cols = db.execute("SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
                          "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position").fetchall()
        keys = db.execute("SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc JOIN "
                          "information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name "
                          "AND kcu.table_schema = tc.table_schema WHERE tc.constraint_type = 'PRIMARY KEY' "
                          "AND tc.table_schema = current_schema() ORDER BY tc.table_name, kcu.ordinal_position").fetchall()
        indexes = db.execute("SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                             "AND indexname NOT LIKE '%\\_pkey'").fetchall()
    out = {"tables": {}, "keys": {}, "virtual": {}, "indexes": {}}
    for table, name, kind, nullable, default in cols:
        if not retired(table, name):
            default = "nextval" if default and default.startswith("nextval") else default and default.split("::")[0]
            out["tables"].setdefault(table, []).append((name, kind, nullable == "NO", default))
    for table, name in keys:
        out["keys"][table] = out["keys"].get(table, ()) + (name,)
    for name, table, sql in indexes:
        on = re.sub(r"^.*? USING \w+ ", "", sql).replace(" gin_trgm_ops", "")
        out["indexes"][name] = (table, sql.startswith("CREATE UNIQUE"), _cols(on))
    return out


def test_a_new_sqlite_store_is_as_described(tmp_path):
    open_store(tmp_path / "new.db").close()
    assert sqlite_actual(tmp_path / "new.db") == described("sqlite")


def test_a_new_postgres_store_is_as_described(postgres, tmp_path):
    address = postgres.create_db()
    open_store(address, index_dir=str(tmp_path / "index")).close()
    assert postgres_actual(address) == described("postgres")


def _version_1(path: Path) -> None:
    """A store as version 1 made it (its DDL, the version in meta), with an article in a story."""
    db = sqlite3.connect(path)
    db.executescript(V1)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute("INSERT INTO articles (id, hash, lang, source, published, data, seq) VALUES "
               "('a', 'h', 'en', 'example.org', '2026-01-02', '{\"id\": \"a\", \"text\": \"t\"}', 1)")
    db.execute("INSERT INTO stories (id, data) VALUES ('s-a', ?)",
               ('{"id": "s-a", "headline": "H", "article_ids": ["a"], "languages": ["en"], "first_seen": "2026-01-02", '
                '"last_seen": "2026-01-02"}',))
    db.execute("INSERT INTO members (article_id, story_id, decision) VALUES ('a', 's-a', '{\"duplicate_of\": null}')")
    db.commit()
    db.close()


def test_a_version_1_sqlite_store_migrates_to_what_a_new_one_is(tmp_path):
    _version_1(tmp_path / "old.db")
    store = open_store(tmp_path / "old.db")
    assert store.schema_version == SCHEMA_VERSION
    assert store.top_stories("2026-01-01", "2026-01-03", "2025-12-31")[0][1] == (1, 1, 1, 0)  # members gained their dates
    store.close()
    open_store(tmp_path / "new.db").close()
    old, new = sqlite_actual(tmp_path / "old.db"), sqlite_actual(tmp_path / "new.db")
    assert old == new == described("sqlite")


@pytest.mark.parametrize("made_by", ["v1-seeds.db", "v2-seeds.db"])
def test_stores_written_by_earlier_versions_migrate_to_the_description(tmp_path, made_by):
    """Their retired columns (``articles.title``, ``embeddings.sentence_texts``) stay; nothing reads them."""
    shutil.copy(DATA / made_by, tmp_path / made_by)
    open_store(tmp_path / made_by).close()
    assert sqlite_actual(tmp_path / made_by) == described("sqlite")


def test_an_older_postgres_store_gains_what_later_versions_added(postgres, tmp_path):
    import psycopg

    address = postgres.create_db()
    open_store(address, index_dir=str(tmp_path / "index")).close()
    with psycopg.connect(address, autocommit=True) as db:  # as version 2 left it, with an article in a story
        for stmt in ("DROP TABLE watchlists, alerts, alert_attempts, dropped, story_days", "DROP INDEX articles_day",
                     "ALTER TABLE embeddings DROP COLUMN owners, DROP COLUMN lead_rows",
                     "ALTER TABLE members DROP COLUMN published, DROP COLUMN source, DROP COLUMN lang",  # and their index
                     "CREATE INDEX members_story ON members(story_id)",
                     "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
                     "INSERT INTO articles (id, hash, lang, source, published, data, seq) VALUES "
                     "('a', 'h', 'en', 'example.org', '2026-01-02', '\\x', 1)",
                     "INSERT INTO members (article_id, story_id) VALUES ('a', 's-a')"):
            db.execute(stmt)
    assert postgres_actual(address) != described("postgres")
    store = open_store(address, index_dir=str(tmp_path / "index"))
    assert store.schema_version == SCHEMA_VERSION and store.newest_published() == "2026-01-02"  # members gained their dates
    store.close()
    assert postgres_actual(address) == described("postgres")
