"""Collections: one library and one list of chats per project ("thesis", "taxes"). Qt-free.

They live under a root folder (`default_collections_dir`): a registry ``collections.json`` names each
collection and its folders, and a new collection gets ``<root>/<slug>/library`` and
``<root>/<slug>/chats``. The library the user had before collections existed becomes the first
collection where it lies: nothing is moved or re-indexed. The registry is written atomically, and a
rename changes only the name, so a library open elsewhere stays valid. Which one the window opens
next is the user's last choice (`remember_choice`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from platformdirs import user_data_dir

from indexer.pgurl import redacted
from usererrors import UserError

if TYPE_CHECKING:
    from app.core.settings import SettingsStore

COLLECTIONS_ENV = "FOOTNOTES_COLLECTIONS"
REGISTRY = "collections.json"
DEFAULT_NAME = "Default"
MAX_NAME = 60
STORE_FILES = ("catalogue.sqlite*", "vectors.g*.faiss*")
"""What a store writes in its folder: all that deleting an adopted library removes."""
DATABASES = "_databases"
"""The folder under the root that keeps the chats of libraries on a database server (a slug never
has an underscore, so no collection's folder is this one)."""


CURRENT = "collections/current"
"""The saved key naming what the next start opens: a registered collection; absent, the library in the
settings (`Settings.library_location`)."""
CURRENT_LIBRARY = "collections/current_library"
"""The library folder of the collection `CURRENT` names. A rename made elsewhere (``footnotes collections
rename``, a second window) changes a collection's name, never its folders: by this the next start still
finds it (`remembered`)."""


def remember_choice(saved: SettingsStore, collection: Collection | None) -> None:
    """The rule for what the next start opens: the user's most recent explicit choice of a library. Choosing
    a collection in the window (or with ``--collection``) makes it current; choosing a library in Settings
    (a folder, or a shared library URL) or with ``--library``, or the settings' library in the window's
    list, makes the settings' library current (None). Where the window merely stands when it closes
    changes nothing, and ``--store`` is for one run."""
    if collection is None:
        saved.remove(CURRENT)
        saved.remove(CURRENT_LIBRARY)
    else:
        saved.setValue(CURRENT, collection.name)
        saved.setValue(CURRENT_LIBRARY, str(collection.library))


def remembered(saved: SettingsStore, collections: list[Collection]) -> Collection | None:
    """The collection the next start opens (`remember_choice`): the one with the remembered library folder,
    whatever it is called now (renamed since, it is remembered under its new name from now on); where no
    folder was remembered (settings saved by an older Footnotes), the one of the remembered name; None for
    the settings' library (nothing remembered, or the collection was deleted)."""
    name, library = saved.value(CURRENT), saved.value(CURRENT_LIBRARY)
    if not isinstance(name, str):
        return None
    if isinstance(library, str) and library:
        found = next((c for c in collections if str(c.library) == library), None)
    else:
        found = next((c for c in collections if c.name == name), None)
    if found is not None and (found.name, str(found.library)) != (name, library):
        remember_choice(saved, found)  # its new name; or its folder, remembered by none before
    return found


class CollectionError(UserError):
    """A collection cannot be created, found, renamed or deleted as asked."""


@dataclass(frozen=True)
class Collection:
    """A named library folder and the folder of its saved chats."""

    name: str
    library: Path
    chats: Path


def default_collections_dir() -> Path:
    """``$FOOTNOTES_COLLECTIONS``, else ``<user data dir>/Footnotes/collections`` (beside ``libraries``)."""
    override = os.environ.get(COLLECTIONS_ENV)
    if override:
        return Path(override).expanduser()
    return Path(user_data_dir("Footnotes", appauthor=False)) / "collections"


def database_chats_dir(url: str, root: Path | None = None) -> Path:
    """Where the window keeps the chats of the library at a database `url` (it has no folder to keep them
    in): ``<root>/_databases/<hash>/chats``, the root being `default_collections_dir` unless given, and the
    hash that of the URL without its password, so two servers or databases never share chats and the
    password is never written."""
    digest = hashlib.sha256(redacted(url.strip()).encode("utf-8")).hexdigest()[:16]
    return (root or default_collections_dir()) / DATABASES / digest / "chats"


def write_json_atomically(path: Path, data: object) -> None:
    """Write JSON to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def slugify(name: str) -> str:
    """A folder name for a collection name: lower case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "collection"


class Collections:
    """The registry of collections under `root`; `default_library` is adopted as the first one."""

    def __init__(self, root: Path, default_library: Path) -> None:
        self.root = Path(root)
        self.default_library = Path(default_library)

    @property
    def registry(self) -> Path:
        """The registry file."""
        return self.root / REGISTRY

    def list(self) -> list[Collection]:
        """Every collection, in the order they were created; the first run adopts the default library."""
        if not self.registry.exists():
            adopted = Collection(DEFAULT_NAME, self.default_library, self.root / slugify(DEFAULT_NAME) / "chats")
            self._write([adopted])
            return [adopted]
        try:
            entries = json.loads(self.registry.read_text(encoding="utf-8"))["collections"]
            return [Collection(e["name"], Path(e["library"]), Path(e["chats"])) for e in entries]
        except (ValueError, KeyError, TypeError) as exc:
            raise CollectionError(f"the collections registry {self.registry} is damaged: {exc}") from exc

    def get(self, name: str) -> Collection:
        """The collection of this name (case does not matter)."""
        found = self._find(self.list(), name)
        if found is None:
            known = ", ".join(c.name for c in self.list())
            raise CollectionError(f"there is no collection named '{name}'; the collections are: {known}")
        return found

    def create(self, name: str) -> Collection:
        """A new, empty collection in a folder of its own under the root."""
        collections = self.list()
        name = self._check_name(name, collections)
        folder = self._new_folder(name, collections)
        created = Collection(name, folder / "library", folder / "chats")
        created.library.mkdir(parents=True)
        created.chats.mkdir(parents=True)
        self._write([*collections, created])
        return created

    def rename(self, old: str, new: str) -> Collection:
        """Give a collection another name; its folders stay where they are."""
        collections = self.list()
        current = self.get(old)
        new = self._check_name(new, [c for c in collections if c != current])
        renamed = Collection(new, current.library, current.chats)
        self._write([renamed if c == current else c for c in collections])
        return renamed

    def delete(self, name: str) -> None:
        """Delete a collection: its index and its chats. The last collection cannot be deleted.

        A collection's own folder under the root goes whole; an adopted library outside it loses only
        the files the store wrote there, so nothing else in that folder is touched."""
        collections = self.list()
        doomed = self.get(name)
        if len(collections) == 1:
            raise CollectionError(f"'{doomed.name}' is the only collection; create another before deleting it")
        self._write([c for c in collections if c != doomed])
        for folder in {doomed.library.parent, doomed.chats.parent}:
            if folder.parent == self.root and folder.is_dir():
                shutil.rmtree(folder)
        if doomed.library.is_dir():
            for pattern in STORE_FILES:
                for file in doomed.library.glob(pattern):
                    file.unlink()
            if not any(doomed.library.iterdir()):
                doomed.library.rmdir()

    def _new_folder(self, name: str, collections: list[Collection]) -> Path:
        """A folder under the root for a new collection: its slug, or slug-2, slug-3… when taken."""
        taken = {c.library.parent for c in collections} | {c.chats.parent for c in collections}
        slug = slugify(name)
        candidates = (self.root / (slug if n == 1 else f"{slug}-{n}") for n in itertools.count(1))
        return next(f for f in candidates if f not in taken and not f.exists())

    @staticmethod
    def _find(collections: list[Collection], name: str) -> Collection | None:
        wanted = name.strip().casefold()
        return next((c for c in collections if c.name.casefold() == wanted), None)

    def _check_name(self, name: str, others: list[Collection]) -> str:
        name = " ".join(name.split())
        if not name:
            raise CollectionError("a collection needs a name")
        if len(name) > MAX_NAME:
            raise CollectionError(f"a collection name has at most {MAX_NAME} characters")
        if self._find(others, name) is not None:
            raise CollectionError(f"there is already a collection named '{name}'; choose another name")
        return name

    def _write(self, collections: list[Collection]) -> None:
        entries = [{"name": c.name, "library": str(c.library), "chats": str(c.chats)} for c in collections]
        write_json_atomically(self.registry, {"collections": entries})
