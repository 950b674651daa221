"""The base of every nblineage handler: Jupyter's authentication and authorization, JSON, the server's store (its
work run off the event loop), query parameters checked, and domain errors answered as JSON ``{code, message}`` with
the status they stand for."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from jupyter_core.utils import ensure_async
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.httputil import responses

AUTH_RESOURCE = "nblineage"  # what an authorizer is asked about (actions: read for GET, write for POST)
MAX_TEXT = 4096  # characters of a name, path or URI a parameter may hold (PATH_MAX)

T = TypeVar("T")
_WHOLE = re.compile(r"-?[0-9]{1,9}")


class NblineageHandler(APIHandler):
    """A handler of the extension. Subclasses decorate each method with ``@web.authenticated`` and then
    ``@authorized`` (``jupyter_server.auth.decorator``), so a server with an authorizer can deny."""

    auth_resource = AUTH_RESOURCE

    async def prepare(self) -> None:  # type: ignore[override]
        """Jupyter's authentication, then its authorizer asked about ``nblineage`` for every request a user makes,
        so a method whose ``@authorized`` was forgotten is still guarded (a request without a user is refused by
        ``@web.authenticated``)."""
        await super().prepare()
        user = self.current_user
        action = HTTP_METHOD_TO_AUTH_ACTION.get(self.request.method or "")
        if not user or not action or self.request.method == "OPTIONS":
            return
        if not await ensure_async(self.authorizer.is_authorized(self, user, action, self.auth_resource)):
            raise web.HTTPError(403, f"not authorized to {action} {self.auth_resource}")

    @property
    def server_store(self) -> Any:
        """The server's :class:`nblineage.server.app.ServerStore`."""
        from nblineage.server.app import SETTINGS_KEY

        return self.settings[SETTINGS_KEY]

    @property
    def store(self) -> Any:
        """The server's store, opened on first use (prefer :meth:`run` for work on it)."""
        return self.server_store.get()

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """``work(store, *args)`` in the store's threads: a long query never blocks the server."""
        return await self.server_store.run(work, *args)

    def answer(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def text(self, name: str, *, required: bool = False) -> str | None:
        """Query parameter ``name`` exactly as sent (its last value; None when absent): 400 when required and
        absent, not UTF-8, longer than MAX_TEXT, or holding a NUL (no store can hold it)."""
        values = self.texts(name)
        if not values:
            if required:
                raise web.HTTPError(400, f"missing parameter {name!r}")
            return None
        return values[-1]

    def texts(self, name: str) -> list[str]:
        """Every value of query parameter ``name``, checked as :meth:`text` checks one (Tornado's own reading
        would strip spaces and turn control characters into spaces: names are taken as they are)."""
        found = []
        for raw in self.request.query_arguments.get(name, []):
            try:
                value = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise web.HTTPError(400, f"parameter {name!r} is not UTF-8 text") from None
            if len(value) > MAX_TEXT:
                raise web.HTTPError(400, f"parameter {name!r} is longer than {MAX_TEXT} characters")
            if "\x00" in value:
                raise web.HTTPError(400, f"parameter {name!r} holds a NUL character")
            found.append(value)
        return found

    def number(self, name: str, default: int) -> int:
        """Query parameter ``name`` as a whole number, ``default`` when absent; 400 when it is not one (ranges are
        checked by the functions that take it)."""
        value = self.text(name)
        if value is None or value == "":
            return default
        if not _WHOLE.fullmatch(value):
            raise web.HTTPError(400, f"parameter {name!r} must be a whole number, not {value[:40]!r}")
        return int(value)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors as ``{code, message}``: what a domain error says (not there: 404; bad request: 400; the store
        unusable: 503), Tornado's reason for HTTP errors, and nothing of the traceback for a bug."""
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        status, message = error_status(error) if error is not None else (status_code, self._reason)
        if status != status_code:
            self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"code": status, "message": message}))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if error_status(value)[0] >= 500 and not isinstance(value, web.HTTPError):
            super().log_exception(typ, value, tb)


def error_status(error: BaseException) -> tuple[int, str]:
    """The HTTP status and one-line message for an error a handler raised."""
    from nblineage.commands import EXIT_ERROR, problem

    if isinstance(error, web.HTTPError):
        return error.status_code, error.log_message or error.reason or responses.get(error.status_code, "error")
    said = problem(error)
    if said is None:
        return 500, "internal error: see the server's log"
    message, exit_status = said
    if exit_status == EXIT_ERROR:
        return 503, message
    from nblineage.lineage.graph import NotFound

    return (404 if isinstance(error, NotFound) else 400), message
