"""A library on disk: a SQLite catalogue (documents, pages, chunks, FTS5 keyword index, meta)
beside a FAISS index of the chunks' vectors.

SQLite is the source of truth and holds every chunk's vector too; each document is written in
one transaction, so a kill leaves the catalogue before or after that document, never between.
The FAISS file is a cache named after the catalogue's generation (``vectors.g<N>.faiss``): if a
run dies before saving it, the next open finds no file for the current generation and rebuilds
the index from the catalogue's vectors.

The store is `store.Store`; its parts live beside it: `base` (the connection, lock and meta they
share), `writes`, `health`, `vector_cache`, `search` and `parallel_sqlite`; `schema` holds the tables
and their migrations. The catalogue reads, writes and health are the ones both backends share (`indexer.store.reads`,
`indexer.store.writes`, `indexer.store.health`), with this store's own parts of them."""

from __future__ import annotations

from indexer.store.sqlite.schema import CATALOGUE, SCHEMA_VERSION
from indexer.store.sqlite.store import Store
from indexer.store.sqlite.vector_cache import AUTO_IVF_CHUNKS

__all__ = ["AUTO_IVF_CHUNKS", "CATALOGUE", "SCHEMA_VERSION", "Store"]
