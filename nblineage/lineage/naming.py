"""Dataset names after the OpenLineage naming spec, and redaction of credentials.

Every dataset nblineage records is named here, and every URL or text that may carry a secret (an engine URL,
an SQL statement, an error message) goes through :func:`strip_credentials` or :func:`redact_secrets_in_text`
before it is stored or logged. Pure standard library.
"""

from __future__ import annotations

import os
import re
from dataclasses import FrozenInstanceError
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

from nblineage.value import Value

__all__ = [
    "DatasetName",
    "LazyPattern",
    "dataset_from_uri",
    "duckdb_table_dataset",
    "file_dataset",
    "redact_secrets_in_text",
    "sqlalchemy_namespace",
    "strip_credentials",
    "table_dataset",
]


class DatasetName(Value):
    """An OpenLineage dataset identity: a namespace and a name unique within it; immutable."""

    FIELDS = ("namespace", "name")
    namespace: str
    name: str

    def __init__(self, namespace: str, name: str) -> None:
        object.__setattr__(self, "namespace", namespace)
        object.__setattr__(self, "name", name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


class LazyPattern:
    """A regular expression compiled when first used: most texts hold no URL or secret, so a kernel that never
    meets one never compiles it (compiling them all was a good part of this module's import). The compiled
    pattern's methods are then kept on the instance, so later calls cost what ``re.Pattern``'s own do."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str) -> Any:  # only for what the instance does not hold yet: the first use
        compiled = re.compile(*self._source)
        for method in ("search", "sub", "finditer", "match", "fullmatch", "findall"):
            setattr(self, method, getattr(compiled, method))
        self.pattern = compiled.pattern
        return getattr(compiled, name)


# Query (and fragment) parameters whose lower-cased name contains one of these are dropped.
_SECRET_PARAM_WORDS = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "key",
    "sig",
    "signature",
    "credential",
    "auth",
    "sas",
)
# Server back ends that get a default port in their namespace (OpenLineage spells PostgreSQL "postgres").
_DEFAULT_PORTS = {
    "postgres": 5432,
    "mysql": 3306,
    "mariadb": 3306,
    "mssql": 1433,
    "oracle": 1521,
    "redshift": 5439,
    "trino": 8080,
}
# SQLAlchemy dialects: in a dataset URI their "+driver" suffix (postgresql+psycopg) is dropped.
_DIALECTS = frozenset({*_DEFAULT_PORTS, "postgresql", "sqlite"})
_SCHEME_ALIASES = {"postgresql": "postgres", "s3a": "s3", "s3n": "s3", "gcs": "gs"}
_AZURE_SCHEMES = frozenset({"abfs", "abfss", "wasb", "wasbs"})
_WEB_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_DEPTH = 4  # nesting of URLs inside query values that redaction follows
_SHOW_CHARS = 200  # how much of a bad input an error message quotes

# Lenient on purpose: whatever precedes "://" counts as a scheme when stripping credentials.
_LENIENT_SCHEME_RE = LazyPattern(r"([^\s/?#@]*)://")
_STRICT_SCHEME_RE = LazyPattern(r"[A-Za-z][A-Za-z0-9+.\-]*\Z")
_PORT_RE = LazyPattern(r"[0-9]{1,5}\Z")
_BAD_HOST_RE = LazyPattern(r"[\s\x00-\x1f\x7f<>\"'`{}|\\^;,:\[\]/?#@%]")
_IPV6_RE = LazyPattern(r"\[[0-9A-Za-z:.%\-~_]+\]\Z")
_WHITESPACE_RE = LazyPattern(r"\s")
_AZURE_CONTAINER_RE = LazyPattern(r"\$?[A-Za-z0-9][A-Za-z0-9\-]*\Z")

# key=value pairs in free text (ODBC and libpq connection strings, environment dumps, SQL, reprs).
_SECRET_KEY = (
    r"[\w.\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key"
    r"|credentials?|signature|sig)"
)
_VALUE = r"""(?:\{(?:[^}]|\}\})*\}|'(?:[^'\\]|\\[\s\S]|'')*'|"(?:[^"\\]|\\[\s\S])*"|[^\s;&,'"(){}<>]*)"""
_KV_RE = LazyPattern(rf"(?<![\w.\-])(?P<key>{_SECRET_KEY})\s*=\s*{_VALUE}", re.IGNORECASE)
_QUOTED_KV_RE = LazyPattern(rf"(?P<q>[\"'])(?P<key>{_SECRET_KEY})(?P=q)\s*:\s*{_VALUE}", re.IGNORECASE)
_KV_TRIGGERS = ("passw", "pwd", "secret", "token", "key", "credential", "sig")
_SQL_PASSWORD_RE = LazyPattern(
    r"\b(?P<kw>identified\b[^;'\"]{0,100}?\bby|password)\s+(?:'(?:[^']|'')*'|\"[^\"]*\")", re.IGNORECASE
)
_BEARER_RE = LazyPattern(r"\b(?P<kw>bearer)\s+[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE)
_SCHEME_CHARS = frozenset("+.-_:")
_URL_END_RE = LazyPattern(r"[\s'\"<>`]")
_URL_TRAILING_PUNCTUATION = ".,;:!)]}"


class _Url:
    """The parts of ``scheme://userinfo@host:port/path?query#fragment``, each as written."""

    def __init__(
        self,
        scheme: str,
        userinfo: str | None,
        host: str,
        port: str | None,
        path: str,
        query: str | None,
        fragment: str | None,
    ) -> None:
        self.scheme, self.userinfo, self.host, self.port = scheme, userinfo, host, port
        self.path, self.query, self.fragment = path, query, fragment


def _find_first(text: str, chars: str, start: int = 0) -> int:
    """Index of the first of ``chars`` in ``text`` at or after ``start``, or ``len(text)``."""
    found = [i for c in chars if (i := text.find(c, start)) != -1]
    return min(found, default=len(text))


def _parse(url: str) -> _Url | None:
    """Split a URL without ever raising; None when it has no ``scheme://``.

    Unlike urllib it tolerates a password with an unescaped ``/``, ``?``, ``#`` or ``@`` (common with cloud
    secret keys pasted into a URL), so that such a password is stripped instead of read as a path.
    """
    match = _LENIENT_SCHEME_RE.match(url)
    if match is None:
        return None
    rest = url[match.end() :]
    end = _find_first(rest, "/?#")
    authority = rest[:end]
    userinfo: str | None = None
    hostport = authority
    if "@" in authority:
        userinfo, _, hostport = authority.rpartition("@")
    else:
        _, colon, after = authority.partition(":")
        if colon and not authority.startswith("[") and not _PORT_RE.match(after):
            # "user:pa/ss@host": what follows the colon is no port, so an "@" further on ends a password.
            at = rest.find("@", end)
            if at != -1 and not _WHITESPACE_RE.search(rest, end, at):
                end = _find_first(rest, "/?#", at + 1)
                userinfo, _, hostport = rest[:end].rpartition("@")
    port: str | None = None
    if hostport.startswith("[") and "]" in hostport:
        close = hostport.index("]") + 1
        host, tail = hostport[:close], hostport[close:]
        if tail.startswith(":"):
            port = tail[1:]
        elif tail:
            host = hostport
    else:
        host, colon, maybe_port = hostport.rpartition(":")
        if colon:
            port = maybe_port
        else:
            host = hostport
    tail, hash_mark, fragment = rest[end:].partition("#")
    path, question_mark, query = tail.partition("?")
    return _Url(
        scheme=match.group(1),
        userinfo=userinfo,
        host=host,
        port=port,
        path=path,
        query=query if question_mark else None,
        fragment=fragment if hash_mark else None,
    )


def _azure_container(userinfo: str | None) -> str | None:
    """The container of an ``abfss://container@account...`` URL, which sits where userinfo would."""
    # Anything else there (a user:password, several "@") is treated as a credential and dropped whole.
    if userinfo and _AZURE_CONTAINER_RE.match(userinfo):
        return userinfo
    return None


def _is_secret_name(name: str) -> bool:
    """Whether a parameter name looks like it carries a secret (case-insensitive substring match)."""
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_PARAM_WORDS)


def _clean_value(value: str, depth: int) -> str:
    """Redact a kept parameter's value when it embeds a URL with credentials or a ``password=``."""
    decoded = unquote_plus(value)
    if "://" not in decoded and not _KV_RE.search(decoded):
        return value
    if depth >= _MAX_DEPTH:
        return "***"
    redacted = _redact(decoded, depth + 1)
    return value if redacted == decoded else quote(redacted, safe="/:@=;,*")


def _filter_params(params: str, depth: int) -> str:
    """Drop secret-looking ``name=value`` pairs from a query string, keeping the others in order."""
    kept = []
    for part in params.split("&"):
        name, equals, value = part.partition("=")
        if _is_secret_name(unquote_plus(name)):
            continue
        if equals and value:
            value = _clean_value(value, depth)
        kept.append(name + equals + value)
    return "&".join(kept)


def _strip(url: str, depth: int) -> str:
    """:func:`strip_credentials` with a bound on how deeply nested URLs are followed."""
    if not isinstance(url, str) or "://" not in url:
        return url
    core = url.strip()
    parsed = _parse(core)
    if parsed is None:
        return url
    out = [parsed.scheme, "://"]
    if parsed.scheme.lower() in _AZURE_SCHEMES:
        container = _azure_container(parsed.userinfo)
        if container:
            out += [container, "@"]
    out.append(parsed.host)
    if parsed.port is not None:
        out += [":", parsed.port]
    out.append(parsed.path)
    if parsed.query is not None:
        query = _filter_params(parsed.query, depth)
        if query:
            out += ["?", query]
    if parsed.fragment is not None:
        fragment = _filter_params(parsed.fragment, depth) if "=" in parsed.fragment else parsed.fragment
        if fragment:
            out += ["#", fragment]
    stripped = _redact_key_values("".join(out))
    lead = url[: len(url) - len(url.lstrip())]
    trail = url[len(url.rstrip()) :]
    return lead + stripped + trail


def strip_credentials(url: str) -> str:
    """Remove userinfo and secret-looking query parameters from a URL, keeping everything else as written.

    Other parameters keep their order; ``password=...`` pairs left in a path (JDBC style) become
    ``password=***``. A string that is not a URL comes back unchanged, and this never raises (input it cannot
    handle comes back as given). For free text holding URLs use :func:`redact_secrets_in_text`.
    """
    try:
        return _strip(url, 0)
    except Exception:  # must never raise, whatever it is given
        return url


def _redact_key_values(text: str) -> str:
    """Replace ``password=...`` style pairs, SQL passwords and bearer tokens in ``text`` by ``***``."""
    lowered = text.lower()  # cheap checks first: this runs on every recorded SQL statement
    if any(word in lowered for word in _KV_TRIGGERS):
        text = _KV_RE.sub(lambda m: f"{m.group('key')}=***", text)
        text = _QUOTED_KV_RE.sub(
            lambda m: f"{m.group('q')}{m.group('key')}{m.group('q')}: {m.group('q')}***{m.group('q')}", text
        )
    if "password" in lowered or "identified" in lowered:
        text = _SQL_PASSWORD_RE.sub(lambda m: f"{m.group('kw')} '***'", text)
    if "bearer" in lowered:
        text = _BEARER_RE.sub(lambda m: f"{m.group('kw')} ***", text)
    return text


def _redact_urls(text: str, depth: int) -> str:
    """Strip credentials from every ``scheme://...`` token in ``text``."""
    out: list[str] = []
    pos = 0
    length = len(text)
    while (mark := text.find("://", pos)) != -1:
        start = mark
        while start > pos and (text[start - 1].isalnum() or text[start - 1] in _SCHEME_CHARS):
            start -= 1
        stop = _URL_END_RE.search(text, mark + 3)
        end = stop.start() if stop else length
        token = text[start:end]
        core = token.rstrip(_URL_TRAILING_PUNCTUATION)
        out += [text[pos:start], _strip(core, depth), token[len(core) :]]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _redact(text: str, depth: int) -> str:
    """:func:`redact_secrets_in_text` with a bound on how deeply nested URLs are followed."""
    if "://" in text:
        text = _redact_urls(text, depth)
    return _redact_key_values(text)


def redact_secrets_in_text(text: str) -> str:
    """Redact credentials anywhere in free text such as an SQL statement or an error message.

    Every URL is replaced by its :func:`strip_credentials` form; ``password=...``, ``pwd=...``, ``token=...``
    (and similar) pairs, SQL ``PASSWORD '...'`` / ``IDENTIFIED BY '...'`` literals and bearer tokens
    become ``***``. Never raises; if redaction itself fails the text is withheld rather than leaked.
    """
    if not isinstance(text, str) or not text:
        return text
    try:
        return _redact(text, 0)
    except Exception:  # withhold rather than risk leaking a secret
        return "[nblineage: text withheld, redaction failed]"


def _show(value: str) -> str:
    """A redacted, shortened rendering of bad input for an error message."""
    shown = redact_secrets_in_text(value)
    if len(shown) > _SHOW_CHARS:
        shown = shown[:_SHOW_CHARS] + "..."
    return repr(shown)


def file_dataset(path: str | os.PathLike) -> DatasetName:
    """Name a local file: namespace ``file``, name its absolute, normalised path (need not exist)."""
    text = os.fsdecode(os.fspath(path))
    if not text:
        raise ValueError("cannot name a file dataset: the path is empty")
    if "\x00" in text:
        raise ValueError(f"cannot name a file dataset: the path contains a NUL character: {_show(text)}")
    return DatasetName("file", os.path.abspath(os.path.expanduser(text)))


def _base_scheme(scheme: str) -> str:
    """Lower-cased scheme with a SQLAlchemy driver suffix dropped and aliases (s3a, postgresql) resolved."""
    scheme = scheme.lower()
    base, plus, _ = scheme.partition("+")
    if plus and base in _DIALECTS:
        scheme = base
    return _SCHEME_ALIASES.get(scheme, scheme)


def _clean_host(host: str, uri: str) -> str:
    """Lower-cased, percent-decoded host; ValueError when it cannot be a host."""
    if host.startswith("["):
        if not _IPV6_RE.match(host):
            raise ValueError(f"invalid IPv6 host in {_show(uri)}")
        return host.lower()
    host = unquote(host)
    if _BAD_HOST_RE.search(host):
        raise ValueError(f"invalid host in {_show(uri)}")
    return host.lower()


def _clean_port(port: str | None, default: int | None, uri: str) -> int | None:
    """The port as a number (``default`` when absent); ValueError when it is not a valid port."""
    if port is None or port == "":
        return default
    if not _PORT_RE.match(port) or not 0 < int(port) <= 65535:
        raise ValueError(f"invalid port in {_show(uri)}")
    return int(port)


def _authority(host: str, port: int | None) -> str:
    """``host`` or ``host:port``."""
    return host if port is None else f"{host}:{port}"


def _parse_strict(uri: str, what: str) -> tuple[_Url, str]:
    """Parse a URI that must have a valid scheme; returns the parts and the lower-cased scheme."""
    if not isinstance(uri, str):
        raise TypeError(f"{what} must be a string, not {type(uri).__name__}")
    text = uri.strip()
    if not text:
        raise ValueError(f"empty {what}")
    parsed = _parse(text)
    if parsed is None:
        raise ValueError(f"not a {what} (expected scheme://...): {_show(text)}")
    scheme = parsed.scheme.lower()
    if scheme.startswith("jdbc:"):
        scheme = scheme[len("jdbc:") :]
    if not _STRICT_SCHEME_RE.match(scheme):
        raise ValueError(f"not a {what} (invalid scheme): {_show(text)}")
    return parsed, scheme


def dataset_from_uri(uri: str) -> DatasetName:
    """Name the dataset a URI or a plain path points to, after the OpenLineage naming spec.

    Object stores name the bucket (or Azure container) in the namespace and the key as the name; databases
    name ``scheme://host:port`` (default port filled in) and the path as the name; a path without a scheme is a
    local file. Credentials, queries and fragments never enter the result (a JDBC-style ``;password=...`` left
    in a path becomes ``password=***``). ValueError for an empty, malformed
    or SQLite URI (a SQLite table has no URI form: use :func:`table_dataset`).
    """
    if isinstance(uri, os.PathLike):
        return file_dataset(uri)
    if isinstance(uri, str) and "://" not in uri and uri.strip():
        if uri.strip()[:5].lower() == "file:":  # file:/abs/path
            return file_dataset(unquote(uri.strip()[5:]))
        return file_dataset(uri)
    parsed, scheme = _parse_strict(uri, "dataset URI")
    base = _base_scheme(scheme)
    if base == "sqlite":
        raise ValueError(
            "a SQLite URI cannot name a table: build DatasetName(sqlalchemy_namespace(engine_url), table) "
            "or call table_dataset(engine_url, table)"
        )
    if base == "file":
        path = unquote(parsed.path)
        if not path:
            raise ValueError(f"file URI has no path: {_show(uri)}")
        host = _clean_host(parsed.host, uri)
        if host in ("", "localhost"):
            return file_dataset(path)
        return DatasetName(f"file://{host}", os.path.normpath(path))
    host = _clean_host(parsed.host, uri)
    if base in ("s3", "gs") or base in _AZURE_SCHEMES:
        if not host:
            raise ValueError(f"{base} URI has no bucket or account: {_show(uri)}")
        port = _clean_port(parsed.port, None, uri)
        prefix = ""
        if base in _AZURE_SCHEMES:
            container = _azure_container(parsed.userinfo)
            prefix = f"{container.lower()}@" if container else ""
        name = parsed.path.strip("/") or "/"
        return DatasetName(f"{base}://{prefix}{_authority(host, port)}", _redact_key_values(name))
    if base in _DEFAULT_PORTS:
        port = _clean_port(parsed.port, _DEFAULT_PORTS[base], uri)
        name = unquote(parsed.path.lstrip("/"))
        if not name:
            raise ValueError(f"{base} URI names no database object (expected /db.schema.table): {_show(uri)}")
        return DatasetName(f"{base}://{_authority(host or 'localhost', port)}", _redact_key_values(name))
    port = _clean_port(parsed.port, None, uri)
    if port is not None and _WEB_DEFAULT_PORTS.get(base) == port:
        port = None
    name = parsed.path.lstrip("/") or "/"
    return DatasetName(f"{base}://{_authority(host, port)}", _redact_key_values(name))


def _query_value(parsed: _Url, key: str) -> str | None:
    """First value of query parameter ``key`` (decoded), or None."""
    for part in (parsed.query or "").split("&"):
        name, equals, value = part.partition("=")
        if equals and unquote_plus(name) == key:
            return unquote_plus(value)
    return None


def _parse_engine_url(url: str) -> tuple[_Url, str]:
    """Parse a SQLAlchemy URL; returns the parts and the back end (driver dropped, postgresql -> postgres)."""
    parsed, scheme = _parse_strict(url, "SQLAlchemy URL")
    backend = scheme.partition("+")[0]
    return parsed, "postgres" if backend == "postgresql" else backend


def _sqlite_namespace(parsed: _Url) -> str:
    """``sqlite://`` + absolute database path (DESIGN.md naming), or ``sqlite://:memory:``."""
    path = parsed.path[1:] if parsed.path.startswith("/") else parsed.path
    database = unquote(path)
    if database.startswith("file:"):  # SQLite URI filename (?uri=true)
        database = database[len("file:") :]
        if database.startswith("//"):
            database = "/" + database[2:].partition("/")[2]
    if database in ("", ":memory:") or database.startswith(":memory:") or _query_value(parsed, "mode") == "memory":
        return "sqlite://:memory:"
    return "sqlite://" + os.path.abspath(os.path.expanduser(database))


def _server_namespace(parsed: _Url, backend: str, url: str) -> str:
    """``backend://host:port`` without credentials, reading libpq-style ``?host=``/``?port=`` when needed."""
    host = parsed.host
    port_text = parsed.port
    if not host:
        # libpq style: ?host=h1:5432,h2 or a Unix socket directory; the first host names the server.
        host = (_query_value(parsed, "host") or "").split(",")[0]
        if host.startswith("/"):  # a socket directory: the server is local
            host = "localhost"
        elif not host.startswith("[") and ":" in host:
            host, _, port_text = host.partition(":")
        if port_text is None:
            port_text = (_query_value(parsed, "port") or "").split(",")[0] or None
    host = _clean_host(host, url)
    port = _clean_port(port_text, _DEFAULT_PORTS.get(backend), url)
    if not host and backend in _DEFAULT_PORTS:
        host = "localhost"
    return f"{backend}://{_authority(host, port)}"


def sqlalchemy_namespace(url: str) -> str:
    """OpenLineage namespace for a SQLAlchemy engine URL, without credentials.

    ``postgresql+psycopg://u:p@h/db`` -> ``postgres://h:5432``; ``mysql+pymysql://u:p@h/db`` ->
    ``mysql://h:3306``; ``sqlite:///rel.db`` -> ``sqlite:////abs/rel.db``; in-memory SQLite ->
    ``sqlite://:memory:``; other back ends ``backend://host[:port]``. ValueError for a malformed URL.
    """
    parsed, backend = _parse_engine_url(url)
    if backend == "sqlite":
        return _sqlite_namespace(parsed)
    return _server_namespace(parsed, backend, url)


def table_dataset(url: str, table: str, schema: str | None = None) -> DatasetName:
    """Name a table read or written through a SQLAlchemy engine URL.

    PostgreSQL ``{database}.{schema or public}.{table}``; MySQL ``{database}.{table}`` (``schema`` is a MySQL
    database, so it replaces the URL's); SQLite ``{table}`` (``{schema}.{table}`` for an attached schema other
    than ``main``); others ``{database}.{schema}.{table}``. A ``table`` already qualified with a dot and no
    ``schema`` is taken as qualified. Empty parts are dropped.
    """
    if not isinstance(table, str) or not table.strip():
        raise ValueError("cannot name a table dataset: the table name is empty")
    parsed, backend = _parse_engine_url(url)
    namespace = sqlalchemy_namespace(url)
    database = unquote(parsed.path[1:] if parsed.path.startswith("/") else parsed.path)
    qualified = schema is None and "." in table
    if backend == "sqlite":
        parts = [schema if schema and schema != "main" else "", table]
    elif backend == "postgres":
        parts = [database, table] if qualified else [database, schema or "public", table]
    elif backend in ("mysql", "mariadb"):
        parts = [table] if qualified else [schema or database, table]
    else:
        parts = [database, table] if qualified else [database, schema or "", table]
    return DatasetName(namespace, ".".join(part for part in parts if part))


def duckdb_table_dataset(database: str | None, table: str, schema: str | None = None) -> DatasetName:
    """Name a table of a DuckDB database file (no spec convention; ours, like SQLite's): namespace
    ``duckdb://{absolute db path}`` (``duckdb://:memory:`` for an in-memory database), name ``{table}``, or
    ``{schema}.{table}`` for a schema other than ``main``."""
    if not isinstance(table, str) or not table.strip():
        raise ValueError("cannot name a table dataset: the table name is empty")
    memory = not database or database == ":memory:" or database.startswith(":memory:")
    namespace = "duckdb://:memory:" if memory else "duckdb://" + os.path.abspath(os.path.expanduser(database))
    return DatasetName(namespace, f"{schema}.{table}" if schema and schema != "main" else table)
