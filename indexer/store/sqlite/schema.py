"""The catalogue's tables, and the migration of an older catalogue to the current schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 4
"""1: the first catalogue; 2: chunks.kind and documents.pagekind_version; 3: the keyword index stems
words (Porter), so "installing" finds "installed"; 4: located units (pages.label, first_line, line_kind)
and chunks.location. An older catalogue is migrated in place when opened."""
CATALOGUE = "catalogue.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots(path TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS documents(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('indexed', 'failed')),
    error TEXT,
    error_kind TEXT,
    extractor TEXT,
    page_count INTEGER NOT NULL DEFAULT 0,
    indexed_at REAL NOT NULL,
    pagekind_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS pages(
    doc_id INTEGER NOT NULL REFERENCES documents(id),
    number INTEGER NOT NULL,
    text TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    first_line INTEGER NOT NULL DEFAULT 0,
    line_kind TEXT NOT NULL DEFAULT 'lines',
    PRIMARY KEY (doc_id, number)
);
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id INTEGER NOT NULL REFERENCES documents(id),
    page INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    text TEXT NOT NULL,
    embedding BLOB NOT NULL,
    kind TEXT NOT NULL DEFAULT 'content',
    location TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""
_MIGRATIONS = (
    ("chunks", "kind", "ALTER TABLE chunks ADD COLUMN kind TEXT NOT NULL DEFAULT 'content'"),
    ("documents", "pagekind_version", "ALTER TABLE documents ADD COLUMN pagekind_version INTEGER NOT NULL DEFAULT 0"),
    ("pages", "label", "ALTER TABLE pages ADD COLUMN label TEXT NOT NULL DEFAULT ''"),
    ("pages", "first_line", "ALTER TABLE pages ADD COLUMN first_line INTEGER NOT NULL DEFAULT 0"),
    ("pages", "line_kind", "ALTER TABLE pages ADD COLUMN line_kind TEXT NOT NULL DEFAULT 'lines'"),
    ("chunks", "location", "ALTER TABLE chunks ADD COLUMN location TEXT NOT NULL DEFAULT ''"),
)
"""Columns added since schema 1: (table, column, the statement that adds it)."""
_FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
"""How the keyword index splits words: Porter stems of Unicode words, accents folded (schema 3)."""


def connect(folder: Path) -> sqlite3.Connection:
    """Open (creating when new) the catalogue in `folder`, in autocommit mode with WAL, its tables made."""
    conn = sqlite3.connect(folder / CATALOGUE, check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(_SCHEMA)
    return conn


def upgrade(conn: sqlite3.Connection, version: int | None) -> None:
    """Bring an older catalogue (schema `version`; None for a new, empty one) to SCHEMA_VERSION, inside the
    caller's transaction: the columns added since are created with their defaults (chunks become
    ``content``, documents unclassified, so the next index run classifies them without embedding anything;
    pages and chunks unlocated, shown as "p. N")."""
    for table, column, statement in _MIGRATIONS:
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            conn.execute(statement)
    _restem_keyword_index(conn)
    if version is not None and version < 4:
        # schema 4 locates text files' sections by line: reload them once
        conn.execute("UPDATE documents SET content_hash = '' WHERE extractor = 'text'")


def _restem_keyword_index(conn: sqlite3.Connection) -> None:
    """Rebuild a keyword index made before schema 3 (no stemming) with the Porter tokenizer, from
    the chunks table it mirrors; the triggers keep it in step as before."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'chunks_fts'").fetchone()
    if row is not None and "porter" in row[0]:
        return
    conn.execute("DROP TABLE IF EXISTS chunks_fts")
    conn.execute(
        "CREATE VIRTUAL TABLE chunks_fts USING fts5("
        f"text, content='chunks', content_rowid='id', tokenize='{_FTS_TOKENIZER}')"
    )
    conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')")
