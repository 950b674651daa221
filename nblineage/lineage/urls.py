"""Store URLs read as text: what makes one unusable, and how one is shown. No SQLAlchemy import and no connection,
so that loading the kernel extension stays cheap; ``store.check_store_url`` adds the checks that need SQLAlchemy.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

ACCEPTED_URLS = "sqlite:///ABSOLUTE/PATH/lineage.db or postgresql+psycopg://USER@HOST:PORT/DATABASE"
SECRET_WORDS = ("password", "passwd", "pwd", "secret", "token", "key", "sig", "credential", "auth")
_DRIVER_MODULES = {
    "": ("psycopg", "psycopg2"),
    "psycopg": ("psycopg",),
    "psycopg2": ("psycopg2",),
    "pg8000": ("pg8000",),
}


def is_server_url(url: object) -> bool:
    """Whether ``url`` names a Jupyter server (``http(s)://host:port/base/``), whose OpenLineage endpoint kernels
    deliver to, rather than a store."""
    return isinstance(url, str) and url.strip().lower().startswith(("http://", "https://"))


def server_url_problem(url: str) -> str | None:
    """What makes a Jupyter server URL unusable for delivery, in one line; None when it may work."""
    parts = urlsplit(url.strip())
    if not parts.hostname:
        return f"{shown_url(url)!r} names no host; use http(s)://HOST:PORT/BASE_URL/ (the Jupyter server's URL)"
    if parts.username or parts.password:
        return "a Jupyter server URL must not hold credentials: put the token in NBLINEAGE_TOKEN"
    try:
        parts.port  # noqa: B018  (raises for a port that is not a number)
    except ValueError:
        return f"{shown_url(url)!r} has a port that is not a number"
    return None


def delivery_problem(url: str) -> str | None:
    """What makes ``NBLINEAGE_URL`` unusable for a kernel's delivery: a store URL's problems, or a server URL's."""
    return server_url_problem(url) if is_server_url(url) else url_problem(url)


def url_problem(url: str) -> str | None:
    """What makes a store URL unusable, read from its text alone, in one line naming the accepted forms (and not
    the URL itself, unless it is no URL); None when it may work (the driver's own checks come when it is opened)."""
    text = url.strip() if isinstance(url, str) else ""
    if not text:
        return f"the store URL is empty; use {ACCEPTED_URLS}"
    if is_server_url(text):
        return (
            "an http(s) URL names a Jupyter server, where kernels deliver their events; commands read a store: "
            f"give --url the server's store ({ACCEPTED_URLS})"
        )
    scheme, sep, rest = text.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][\w.+-]*", scheme):
        path = Path(text).expanduser().absolute() if "://" not in text else None
        hint = f" (for a SQLite file write sqlite:///{_redact(str(path))})" if path else ""
        return f"{_redact(text)!r} is not a store URL{hint}; use {ACCEPTED_URLS}"
    backend, _, driver = scheme.lower().partition("+")
    if backend == "postgres":
        return f"SQLAlchemy spells PostgreSQL postgresql+psycopg://, not postgres://; use {ACCEPTED_URLS}"
    if backend not in ("sqlite", "postgresql"):
        return f"unknown store scheme {scheme!r} (SQLite or PostgreSQL); use {ACCEPTED_URLS}"
    needed = _DRIVER_MODULES.get(driver, ()) if backend == "postgresql" else ()
    if needed and not any(importlib.util.find_spec(module) for module in needed):
        extra = ' (pip install "nblineage[postgres]")' if "psycopg" in needed else ""
        return f"the driver {needed[0]} of {scheme!r} is not installed{extra}; use {ACCEPTED_URLS}"
    if backend == "sqlite" and rest and not rest.startswith("/"):
        return f"a SQLite store needs a file: sqlite:///ABSOLUTE/PATH/lineage.db; use {ACCEPTED_URLS}"
    return None


def shown_url(url: object) -> str:
    """A store URL fit for a message or a header: the password as ``***``, secret-looking query parameters left
    out. Accepts text or a SQLAlchemy URL (rendered with its password, then masked here)."""
    if not isinstance(url, str):
        render = getattr(url, "render_as_string", None)
        url = render(hide_password=False) if render else str(url)
    text = url.strip()
    if "://" not in text:
        return _redact(text)
    base, _, query = text.partition("?")
    base = re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", base)
    if not query:
        return base
    kept = [(key, value) for key, value in parse_qsl(query, keep_blank_values=True) if not _secret(key)]
    return f"{base}?{urlencode(kept)}" if kept else base


def _secret(key: str) -> bool:
    return any(word in key.lower() for word in SECRET_WORDS)


def _redact(text: str) -> str:
    from nblineage.lineage.naming import redact_secrets_in_text

    return redact_secrets_in_text(text)
