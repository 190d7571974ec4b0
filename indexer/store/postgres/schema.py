"""The tables of a library on PostgreSQL: the SQLite catalogue's, with a ``tsvector`` column (GIN index)
for keyword search and a pgvector column (HNSW index, cosine) for the vectors."""

from __future__ import annotations

SCHEMA_VERSION = 1

TABLES = """
CREATE TABLE IF NOT EXISTS footnotes_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS footnotes_roots(path TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS footnotes_documents(
    id BIGSERIAL PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    size BIGINT NOT NULL,
    mtime DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('indexed', 'failed')),
    error TEXT,
    error_kind TEXT,
    extractor TEXT,
    page_count INTEGER NOT NULL DEFAULT 0,
    indexed_at DOUBLE PRECISION NOT NULL,
    pagekind_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS footnotes_documents_by_hash ON footnotes_documents(content_hash);
CREATE TABLE IF NOT EXISTS footnotes_pages(
    doc_id BIGINT NOT NULL REFERENCES footnotes_documents(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    text TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    first_line INTEGER NOT NULL DEFAULT 0,
    line_kind TEXT NOT NULL DEFAULT 'lines',
    PRIMARY KEY (doc_id, number)
);
CREATE TABLE IF NOT EXISTS footnotes_chunks(
    id BIGSERIAL PRIMARY KEY,
    doc_id BIGINT NOT NULL REFERENCES footnotes_documents(id) ON DELETE CASCADE,
    page INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    text TEXT NOT NULL,
    embedding vector NOT NULL,
    kind TEXT NOT NULL DEFAULT 'content',
    location TEXT NOT NULL DEFAULT '',
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED
);
CREATE INDEX IF NOT EXISTS footnotes_chunks_by_doc ON footnotes_chunks(doc_id);
CREATE INDEX IF NOT EXISTS footnotes_chunks_tsv ON footnotes_chunks USING gin(tsv);
"""
"""Prefixed names, so a library can share a database (or schema) with other applications' tables.
Several libraries on one server: one database each, or one schema each (``?options=-csearch_path%3Dteam``).
The keyword column stems English words (``to_tsvector('english', …)``), as the SQLite store's Porter
tokenizer does; the vector column gets its dimension (and its HNSW index) when an embedder is bound."""

SCHEMA_LOCK = 0x466F6F746E6F7465
"""Advisory lock key held while the tables are made or the embedder is bound, so two app instances
opening a new library at once do not race (``CREATE TABLE IF NOT EXISTS`` is not safe against that)."""


def vector_index_statements(dim: int) -> list[str]:
    """Give the vector column its dimension and an HNSW index for cosine distance (the embedder's vectors
    are unit length, so cosine ranks as the SQLite store's inner product does)."""
    return [
        "DROP INDEX IF EXISTS footnotes_chunks_hnsw",
        f"ALTER TABLE footnotes_chunks ALTER COLUMN embedding TYPE vector({int(dim)})",
        "CREATE INDEX footnotes_chunks_hnsw ON footnotes_chunks USING hnsw (embedding vector_cosine_ops)",
    ]
