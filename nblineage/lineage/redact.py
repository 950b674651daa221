"""Remove credentials from an OpenLineage event before it is stored, hashed or logged.

Producers sometimes put a password in a connection URL (a dataset namespace, a ``dataSource`` facet), a token
in an environment-variable facet, or a password in an SQL statement. Such values are replaced; everything else
of the event is kept exactly as it came. Most events carry none of the markers, and cost one scan of a string.
"""

from __future__ import annotations

import re
from typing import Any

from nblineage.lineage.naming import redact_secrets_in_text, strip_credentials

MASK = "***"
_USERINFO = re.compile(r"://[^\"\s]*@")
_WORDS = (
    "pass",
    "pwd",
    "secret",
    "token",
    "credential",
    "sig=",
    "signature",
    "authorization",
    "apikey",
    "api_key",
    "api-key",
    "api key",
)
_SECRET_KEY_ENDINGS = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "credential",
    "credentials",
    "authorization",
)


def may_hold_secrets(text: str) -> bool:
    """True when ``text`` (an event's JSON) has anything that could be a credential."""
    if "@" in text and _USERINFO.search(text):
        return True
    lowered = text.lower()
    return any(word in lowered for word in _WORDS)


def is_secret_key(name: str) -> bool:
    """True for names like ``password``, ``DB_PASSWORD``, ``accessToken``, ``AWS_SECRET_ACCESS_KEY``."""
    squashed = re.sub(r"[^a-z0-9]", "", name.lower())
    return squashed.endswith(_SECRET_KEY_ENDINGS)


def redact(value: Any, key: str = "") -> Any:
    """A copy of ``value`` with secret-named fields masked and credentials cut out of URLs and text."""
    if isinstance(value, dict):
        named = value.get("name")
        if isinstance(named, str) and "value" in value and is_secret_key(named):
            return {k: (MASK if k == "value" else redact(v, k)) for k, v in value.items()}
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item, key) for item in value]
    if isinstance(value, str):
        if key and is_secret_key(key):
            return MASK
        if key in ("namespace", "name", "uri", "url") and "://" in value:
            return strip_credentials(value)
        if may_hold_secrets(value):
            return redact_secrets_in_text(value)
    return value
