"""PostgreSQL connection URLs as the app shows and compares them, without the driver: psycopg is an
optional dependency, and the window and the CLI show a ``--store`` URL whether or not it is installed."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["redacted"]


def redacted(url: str) -> str:
    """The URL without its password, fit to show and to log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", "@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
