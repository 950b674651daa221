"""Remove credentials from an OpenLineage event, or a kernel's outbox record, before it is stored, hashed or logged.

Producers sometimes put a password in a connection URL (a dataset namespace, a ``dataSource`` facet), a token
in an environment-variable facet, or a password in an SQL statement; a notebook cell's source may set one in
``os.environ`` or pass one to a client. Such values are replaced; everything else is kept exactly as it came.
Besides what :func:`~nblineage.lineage.naming.redact_secrets_in_text` cuts out (URLs, ``password=...`` pairs,
SQL ``PASSWORD '...'``, bearer tokens) this knows the shapes of cloud keys and tokens (AWS, GitHub, GitLab,
Slack, OpenAI, Stripe, Google, Hugging Face, JWTs, private keys, Azure connection strings) and code that assigns
secrets. Most texts carry none of the markers, and cost one scan.
"""

from __future__ import annotations

import re
from typing import Any

from nblineage.lineage.naming import LazyPattern as _Pattern
from nblineage.lineage.naming import redact_secrets_in_text, strip_credentials

MASK = "***"
_USERINFO = _Pattern(r"://[^\"\s]*@")
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


# Markers (lower case) of the token shapes and code below: a text without any of them needs no closer look.
_SHAPE_MARKERS = (
    "akia",
    "asia",
    "abia",
    "acca",
    "a3t",
    "private key",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "gldt-",
    "glrt-",
    "glptt-",
    "glft-",
    "glcbt-",
    "gloas-",
    "glsoat-",
    "xox",
    "sk-",
    "k_live_",
    "k_test_",
    "aiza",
    "hf_",
    "eyj",
    "hooks.slack.com",
    "accountkey",
    "basic",
    "auth",
    "login",
)
_TOKENS = _Pattern(
    r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])"  # AWS access key id
    r"|-----BEGIN[A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END[A-Z ]*PRIVATE KEY-----|[\s\S]*)"  # PEM, even cut
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}|\bgithub_pat_[A-Za-z0-9_]{20,}"  # GitHub
    r"|\bgl(?:pat|dt|rt|ptt|ft|cbt|oas|soat)-[A-Za-z0-9_\-]{20,}"  # GitLab
    r"|\bxox[abposre]-[A-Za-z0-9\-]{10,}|(?<=hooks\.slack\.com/services/)[A-Za-z0-9/]+"  # Slack
    r"|\bsk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}|\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"  # OpenAI..
    r"|\bAIza[0-9A-Za-z_\-]{35}|\bhf_[A-Za-z0-9]{30,}"  # Google API key, Hugging Face
    r"|\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"  # JWT
)
_AZURE_KEY = _Pattern(r"(?i)\b(?P<key>AccountKey|SharedAccessKey|SharedAccessSignature)\s*=\s*[^;'\"\s]+")
_BASIC = _Pattern(r"(?i)(?P<head>\bauthorization[\"']?\s*[:=]\s*[\"']?basic\s+)[A-Za-z0-9+/=]+")
_NETRC = _Pattern(r"(?im)(?P<head>(?:^[ \t]*|\blogin\s+\S+\s+)(?:password|passwd)\s+)(?![\"'$*]|[EU]&?')[^\s'\"]+")
# PostgreSQL's other string forms after PASSWORD: dollar quotes and E'...' (whose backslash escapes would
# otherwise end the literal early); naming.py handles plain '...'.
_SQL_PASSWORD = _Pattern(
    r"(?i)\b(?P<kw>password|identified\s+by)\s+(?:\$(?P<tag>\w*)\$[\s\S]*?\$(?P=tag)\$|[EU]&?'[\s\S]*?'(?=[\s;,)\"]|$))"
)
# Python code: a string literal, and where secrets go.
_STRING = r"""(?:[rRbBuUfF]{0,2}(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"))"""
# Each names a key and looks ahead at the literal given to it (``value``), so that matches never swallow the next.
_SUBSCRIPT = _Pattern(rf"""\[\s*(?P<q>['"])(?P<key>[^'"\n]{{1,200}})(?P=q)\s*\]\s*=\s*(?=(?P<value>{_STRING}))""")
_PAIR = _Pattern(rf"""(?P<q>['"])(?P<key>[^'"\n]{{1,200}})(?P=q)\s*[,:]\s*(?=(?P<value>{_STRING}))""")
_ANNOTATED = _Pattern(rf"""(?m)^[ \t]*(?P<key>\w+)\s*:[^=\n]*=\s*(?=(?P<value>{_STRING}))""")
_BASIC_PAIR = _Pattern(
    rf"""(?:\bauth\s*=\s*\(|HTTP(?:Basic|Digest)Auth\()\s*(?:{_STRING}|\w+)\s*,\s*(?=(?P<value>{_STRING}))"""
)
_PASSED = _Pattern(
    rf"""(?P<key>\w+)\s*=\s*(?P<var>[A-Za-z_]\w*)\s*(?=[,)\n])"""  # keyword argument: password=pw
    rf"""|(?P<q>['"])(?P<qkey>[^'"\n]{{1,200}})(?P=q)\s*:\s*(?P<qvar>[A-Za-z_]\w*)\s*(?=[,}}\n])"""  # "password": pw
    rf"""|(?:\bauth\s*=\s*\(|HTTP(?:Basic|Digest)Auth\()\s*(?:{_STRING}|\w+)\s*,\s*(?P<avar>[A-Za-z_]\w*)\s*\)"""
    r"""|://[^\s/@{}'"]*:\{(?P<uvar>[A-Za-z_]\w*)\}@"""  # f"postgresql://user:{pw}@host/db"
)
_QUOTED_MASK = "'***'"


# Pieces (lower case) of the words and markers above, each word and marker holding at least one
# (test_redact checks it): a text holding none of these 23 holds none of the 44, so most texts cost 23 scans.
_ANCHORS = (
    "pass",
    "pwd",
    "secret",
    "token",
    "credential",
    "sig",  # sig=, signature
    "auth",  # authorization, auth
    "key",  # apikey, api_key, api-key, api key, private key, accountkey
    "ia",  # akia, asia, abia
    "acca",
    "a3t",
    "gh",  # ghp_, gho_, ghu_, ghs_, ghr_
    "pat_",  # github_pat_
    "gl",  # glpat-, gldt-, glrt-, glptt-, glft-, glcbt-, gloas-, glsoat-
    "xox",
    "sk-",
    "k_",  # k_live_, k_test_
    "aiza",
    "hf_",
    "eyj",
    "slack",  # hooks.slack.com
    "basic",
    "login",
)


def may_hold_secrets(text: str) -> bool:
    """True when ``text`` (an event's JSON, a record, a cell's source) has anything that could be a credential."""
    if "@" in text and _USERINFO.search(text):
        return True
    lowered = text.lower()
    for anchor in _ANCHORS:
        if anchor in lowered:
            return any(word in lowered for word in _WORDS) or any(marker in lowered for marker in _SHAPE_MARKERS)
    return False


def json_may_hold_secrets(text: str) -> bool:
    """:func:`may_hold_secrets` of a JSON text, sped up for the stream of similar events ingest sees.

    No marker holds a double quote, nor ends in a comma, so one found in ``text`` lies within one of the parts
    between its ``,"`` (a key and its value, mostly): the parts this process has already seen clean are skipped and
    only the others scanned, joined by quotes. The same answer as ``may_hold_secrets(text)``.
    """
    global _clean_chars
    parts = set(text.split(',"'))
    unseen = parts.difference(_CLEAN) if _CLEAN else parts
    if not unseen:
        return False
    if may_hold_secrets('"'.join(unseen)):
        return True
    kept = [part for part in unseen if len(part) <= _MAX_CLEAN_PART]
    size = sum(map(len, kept))
    if _clean_chars + size > _MAX_CLEAN_CHARS:  # bounded memory: start again
        _CLEAN.clear()
        _clean_chars = 0
        if size > _MAX_CLEAN_CHARS:
            return False
    _CLEAN.update(kept)
    _clean_chars += size
    return False


# Parts of JSON texts found clean (json_may_hold_secrets), at most _MAX_CLEAN_CHARS characters in all.
_CLEAN: set[str] = set()
_clean_chars = 0
_MAX_CLEAN_PART = 4096
_MAX_CLEAN_CHARS = 4 * 1024 * 1024


def redact_text(text: str) -> str:
    """``text`` with every credential it holds replaced by ``***``; never raises (withheld if redaction fails)."""
    if not may_hold_secrets(text):
        return text
    try:
        text = _redact_code(text)  # first: it reads which variables are passed as credentials
        text = redact_secrets_in_text(text)
        text = _SQL_PASSWORD.sub(lambda m: f"{m.group('kw')} '***'", text)
        text = _TOKENS.sub(MASK, text)
        text = _AZURE_KEY.sub(lambda m: f"{m.group('key')}={MASK}", text)
        text = _BASIC.sub(lambda m: m.group("head") + MASK, text)
        return _NETRC.sub(lambda m: m.group("head") + MASK, text)
    except Exception:  # withhold rather than risk leaking a secret
        return "[nblineage: text withheld, redaction failed]"


def _secretish(name: str) -> bool:
    """A name a secret is kept under: ``is_secret_key``, or one that says password or secret anywhere."""
    lowered = name.lower()
    return is_secret_key(name) or "password" in lowered or "passwd" in lowered or "secret" in lowered


def _redact_code(text: str) -> str:
    """String literals that code gives to secret-named keys (``os.environ["AWS_SECRET_ACCESS_KEY"] = "..."``,
    ``os.environ.setdefault("TOKEN", "...")``, ``{"password": "..."}``, ``password: str = "..."``, the password of
    ``auth=("user", "...")``), and those assigned to variables the code passes as credentials."""
    spans = [
        match.span("value")
        for pattern in (_SUBSCRIPT, _PAIR, _ANNOTATED, _BASIC_PAIR)
        for match in pattern.finditer(text)
        if pattern is _BASIC_PAIR or _secretish(match.group("key"))
    ]
    text = _masked(text, spans)
    names = set()
    for match in _PASSED.finditer(text):
        if match.group("avar") or match.group("uvar"):
            names.add(match.group("avar") or match.group("uvar"))
        elif match.group("var") and _secretish(match.group("key")):
            names.add(match.group("var"))
        elif match.group("qvar") and _secretish(match.group("qkey")):
            names.add(match.group("qvar"))
    names -= {"None", "True", "False"}
    if names:
        assigned = re.compile(
            rf"(?m)^(?P<head>[ \t]*(?:{'|'.join(map(re.escape, sorted(names)))})\s*(?::[^=\n]*)?=\s*){_STRING}"
        )
        text = assigned.sub(lambda m: m.group("head") + _QUOTED_MASK, text)
    return text


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each span (string literals; overlapping ones merged) replaced by a quoted mask."""
    out, position = [], 0
    for start, end in sorted(spans):
        if start < position:
            continue
        out += [text[position:start], _QUOTED_MASK]
        position = end
    out.append(text[position:])
    return "".join(out)


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
        return redact_text(value)
    return value
