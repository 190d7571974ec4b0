"""PostgreSQL connection URLs as the app shows and compares them, without the driver: psycopg is an
optional dependency, and the window and the CLI show a ``--store`` URL whether or not it is installed."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["redacted"]


def redacted(url: str) -> str:
    """The URL without its password (``user:secret@`` or a ``password=`` parameter), fit to show, to log and
    to name things after; the rest is left as written."""
    parts = urlsplit(url)
    if parts.password is not None:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", "@", 1))
    if parts.query:
        kept = [p for p in parts.query.split("&") if unquote(p.partition("=")[0]).strip().lower() != "password"]
        parts = parts._replace(query="&".join(kept))
    return urlunsplit(parts)
