"""API keys for model servers: kept in the system keyring, never in the settings file.

A key is stored under the service ``footnotes`` with the server's base URL as the user name. The
environment variable ``FOOTNOTES_API_KEY`` overrides any stored key. Where no keyring backend works
(a headless machine without a secret service), a key is kept in memory for this session only.
"""

from __future__ import annotations

import os

SERVICE = "footnotes"
ENV_VAR = "FOOTNOTES_API_KEY"
SESSION_ONLY = "No system keyring works on this machine, so the API key is used for this session only."

_session: dict[str, str] = {}


def api_key(url: str) -> str | None:
    """The key for the server at `url`: the environment variable, else the keyring, else this session's."""
    if key := os.environ.get(ENV_VAR):
        return key
    try:
        import keyring

        stored = keyring.get_password(SERVICE, url)
    except Exception:  # noqa: BLE001 - any keyring failure (none installed, locked, no backend) means "not stored"
        stored = None
    return stored or _session.get(url)


def save_api_key(url: str, key: str) -> str | None:
    """Keep `key` for the server at `url` (an empty key forgets it); a sentence when it lasts this session only."""
    _session.pop(url, None)
    try:
        import keyring

        if key:
            keyring.set_password(SERVICE, url, key)
        elif keyring.get_password(SERVICE, url) is not None:
            keyring.delete_password(SERVICE, url)
        return None
    except Exception:  # noqa: BLE001 - a keyring that cannot store means: keep the key in memory
        if key:
            _session[url] = key
            return SESSION_ONLY
        return None
