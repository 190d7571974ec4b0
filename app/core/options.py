"""What the command line's options mean, for every front end that has them (the commands and the MCP
server): the settings a run uses, the library it opens (a folder, a collection or a shared library URL),
the scope of a question, and the model option checked before a slow load."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from app.core.collections import CollectionError, Collections, default_collections_dir
from app.core.engine import Engine
from app.core.errors import LibraryMissing, ModelProblem, UsageError
from app.core.settings import ARG_PREFIX, Settings, settings_from_args
from indexer.library import default_library_dir
from indexer.store import CATALOGUE, LibraryStore, is_database_url
from llm.bundled import PRESETS
from llm.loader import pick_backend
from llm.openai_backend import ServerError, check_url
from rag.scope import Scope


def user_settings(args: argparse.Namespace) -> Settings:
    """The settings a command runs with: its ``--preset`` (else the defaults) with its settings flags on top."""
    preset = getattr(args, "preset", None)
    return settings_from_args(args, Settings.preset(preset) if preset else Settings())


def library_folder(args: argparse.Namespace) -> Path:
    if getattr(args, "collection", None):
        if args.library:
            raise UsageError("give --library or --collection, not both")
        try:
            return collections_of_user().get(args.collection).library
        except CollectionError as exc:
            raise UsageError(str(exc)) from exc
    return Path(args.library).expanduser() if args.library else default_library_dir()


def library_location(args: argparse.Namespace) -> Path | str:
    """The library a command works on: the ``--store`` URL (a shared library on PostgreSQL) when given,
    else the folder of ``--library`` or ``--collection``."""
    return store_url(args) or library_folder(args)


def store_url(args: argparse.Namespace) -> str:
    """The ``--store`` URL, checked: a ``postgresql://`` URL, not given beside ``--library`` or
    ``--collection``; empty when not given."""
    url = getattr(args, f"{ARG_PREFIX}store", "").strip()
    if not url:
        return ""
    if getattr(args, "library", None) or getattr(args, "collection", None):
        raise UsageError("give --store or --library/--collection, not both")
    if not is_database_url(url):
        raise UsageError(f"--store takes a postgresql:// URL, not {url!r}")
    return url


def collections_of_user() -> Collections:
    return Collections(default_collections_dir(), default_library_dir())


def parse_scope(args: argparse.Namespace, store: LibraryStore) -> Scope | None:
    """The ``--scope`` paths as a Scope, refused when the library holds nothing under them."""
    if not getattr(args, "scope", None):
        return None
    scope = Scope.of_paths([Path(p) for p in args.scope])
    if not scope.document_ids(store):
        raise UsageError(f"the library holds no indexed file under {', '.join(args.scope)}; check --scope")
    return scope


def _existing_library(args: argparse.Namespace) -> Path | str:
    """`library_location`, refused when it is a folder without a library."""
    location = library_location(args)
    if isinstance(location, Path) and not (location / CATALOGUE).exists():
        raise LibraryMissing(f"no library at {location}; index something first: footnotes index PATH")
    return location


def open_engine(
    args: argparse.Namespace, settings: Settings | None = None, must_exist: bool = True, index_kind: str | None = None
) -> Engine:
    """The Engine over the command's library (`library_location`; a missing library folder is refused when
    `must_exist`), run with `settings` (default: `user_settings`) and the ``--embedder`` folder when given;
    `index_kind` (flat, ivf, hnsw) for a library folder's vector index."""
    location = _existing_library(args) if must_exist else library_location(args)
    return Engine(
        location, settings or user_settings(args), embedder_folder=_embedder_folder(args), index_kind=index_kind
    )


def rebuilt_engine(
    args: argparse.Namespace, settings: Settings, status: Callable[[str], None], index_kind: str | None = None
) -> Engine:
    """The Engine over the command's library emptied for ``--reindex`` (`Engine.rebuilt`); `status` hears
    what it loads."""
    return Engine.rebuilt(
        library_location(args), settings, embedder_folder=_embedder_folder(args), index_kind=index_kind, status=status
    )


def _embedder_folder(args: argparse.Namespace) -> Path | None:
    """The local sentence-transformers folder of ``--embedder``, when given."""
    folder = getattr(args, "embedder", None)
    return Path(folder) if folder else None


def checked_model(settings: Settings) -> str:
    """The model asked for, with its path and backend options checked now (the model itself loads later);
    for a model server, its URL (the server is asked when the model is first needed)."""
    model = settings.model
    if model.backend == "server":
        try:
            check_url(settings.server.connection())
        except ServerError as exc:
            raise ModelProblem(str(exc)) from exc
        return settings.server.model
    spec = model.name
    path = Path(PRESETS[spec].filename) if spec in PRESETS else Path(spec).expanduser()
    if spec not in PRESETS and not path.exists():
        raise ModelProblem(
            f"no model at {path}; give --model {' or '.join(PRESETS)}, a local GGUF file or a model folder"
        )
    pick_backend(path, model.backend, model.device)  # an InvalidValue when this backend cannot run it
    return spec
