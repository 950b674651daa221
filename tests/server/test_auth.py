"""Every route of the extension requires Jupyter's authentication, on a server that allows no unauthenticated
access and warns of no undecorated handler: 401/403 without credentials, 200 with the token, the login cookie
only with XSRF for POST, and 403 when the server's authorizer denies the ``nblineage`` resource.

Routes are enumerated from ``nblineage.server.app.routes()``: a route added later is covered too (a pattern with
groups, or a route that needs parameters to answer 200, gets a sample request in ``samples``)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from model_events import Scenario
from tornado import web
from tornado.httpclient import HTTPClientError

from nblineage.server.app import routes
from nblineage.server.base import AUTH_RESOURCE, NblineageHandler

pytestmark = pytest.mark.filterwarnings("error::jupyter_server.utils.JupyterServerAuthWarning")

REFUSED = (401, 403)


class DenyLineage(Authorizer):
    """An authorizer that lets users do anything but use nblineage."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != AUTH_RESOURCE


class Echo(NblineageHandler):
    """A POST of the handler base, to check the cookie path against XSRF whatever routes exist."""

    @web.authenticated
    @authorized
    def post(self) -> None:
        self.answer({"ok": True})


class Undecorated(NblineageHandler):
    """A handler whose author forgot ``@authorized``: the handler base still asks the authorizer."""

    @web.authenticated
    def get(self) -> None:
        self.answer({"ok": True})


@pytest.fixture
def authorizer() -> type[Authorizer] | None:
    return None


@pytest.fixture
def jp_server_config(
    store_url: str, monkeypatch: pytest.MonkeyPatch, authorizer: type[Authorizer] | None
) -> dict[str, Any]:
    monkeypatch.setenv("NBLINEAGE_URL", store_url)
    server: dict[str, Any] = {
        "jpserver_extensions": {"nblineage": True, "jupyter_server_terminals": False},  # terminals warn: not ours
        "allow_unauthenticated_access": False,
        "reraise_server_extension_failures": True,  # a warning turned error fails the server, not only a log line
    }
    if authorizer is not None:
        server["authorizer_class"] = authorizer
    return {"ServerApp": server}


def samples(lineage: Scenario) -> dict[str, dict[str, tuple[str, dict[str, str], int]]]:
    """Per route pattern and method: a concrete path, query parameters and the status an authorised request
    gets. A route not listed is requested at its pattern with no parameters (and must not be refused)."""
    node = {"node": lineage.model}
    answers = {
        "status": {},
        "search": {"q": "model"},
        "graph": node,
        "node": node,
        "upstream": node,
        "downstream": {"node": lineage.raw},
        "models-from": {"node": lineage.raw},
        "explain": node,
        "path": {"source": lineage.raw, "target": lineage.model},
        "inputs": node,
        "performance": node,
        "resources": node,
        "location": node,
        "impact": {"node": lineage.raw},
        "quality": {"node": lineage.raw},
        "policy": node,
        "audit/verify": {},
        "audit/checkpoint": {},
        "report": node,
    }
    return {
        f"nblineage/api/{route}": {"GET": (f"nblineage/api/{route}", query, 200)} for route, query in answers.items()
    }


def methods(handler: type) -> list[str]:
    """The methods a handler implements, but Jupyter's CORS preflight (``APIHandler.options``: no data)."""
    inherited = {web.RequestHandler._unimplemented_method, APIHandler.options}
    return [method for method in handler.SUPPORTED_METHODS if getattr(handler, method.lower()) not in inherited]


def requests(lineage: Scenario) -> list[tuple[str, str, dict[str, str], int | None]]:
    """(method, path, query, expected status or None: anything but refused) for every method of every route."""
    known = samples(lineage)
    found = []
    for pattern, handler in routes():
        for method in methods(handler):
            sample = known.get(pattern, {}).get(method)
            if sample is None:
                assert not re.search(r"[()\[\]*+?\\]", pattern), f"add a sample request for {pattern} to samples()"
                sample = (pattern, {}, None)
            found.append((method, *sample))
    return found


async def status_of(jp_fetch: Any, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> int:
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    try:
        response = await jp_fetch(path, method=method, params=query, headers=headers, body=body, follow_redirects=False)
    except HTTPClientError as error:
        return error.code
    return response.code


async def test_every_route_refuses_requests_without_credentials(jp_fetch: Any, lineage: Scenario) -> None:
    every = requests(lineage)
    assert len(every) >= len(routes())
    for method, path, query, _ in every:
        for headers in ({"Authorization": ""}, {"Authorization": "token wrong"}, {"Authorization": "bearer wrong"}):
            assert await status_of(jp_fetch, method, path, query, headers) in REFUSED, (method, path, headers)


async def test_every_route_answers_with_the_token(jp_fetch: Any, jp_serverapp: Any, lineage: Scenario) -> None:
    token = jp_serverapp.identity_provider.token
    for method, path, query, expected in requests(lineage):
        for scheme in ("token", "bearer"):
            code = await status_of(jp_fetch, method, path, query, {"Authorization": f"{scheme} {token}"})
            if expected is None:
                assert code not in REFUSED and code < 500, (method, path, code)
            else:
                assert code == expected, (method, path, code)


@pytest.mark.parametrize("authorizer", [DenyLineage])
async def test_an_authorizer_can_deny_every_route(
    jp_fetch: Any, jp_serverapp: Any, jp_base_url: str, lineage: Scenario, authorizer: type
) -> None:
    jp_serverapp.web_app.add_handlers(".*$", [(f"{jp_base_url}nblineage/test-undecorated", Undecorated)])
    for method, path, query, _ in [*requests(lineage), ("GET", "nblineage/test-undecorated", {}, 200)]:
        assert await status_of(jp_fetch, method, path, query, {}) == 403, (method, path)
    spec = await jp_fetch("api", "status")  # the rest of the server is allowed
    assert spec.code == 200


async def test_the_login_cookie_needs_xsrf_for_post(
    jp_fetch: Any, jp_serverapp: Any, jp_base_url: str, lineage: Scenario
) -> None:
    jp_serverapp.web_app.add_handlers(".*$", [(f"{jp_base_url}nblineage/test-echo", Echo)])
    login = await jp_fetch("nblineage", "api", "status")  # token-authenticated: the server sets its login cookie
    cookies = "; ".join(cookie.split(";", 1)[0] for cookie in login.headers.get_list("Set-Cookie"))
    assert cookies.startswith("username-")
    cookie = {"Authorization": "", "Cookie": cookies}
    xsrf = {"Authorization": "", "Cookie": f"{cookies}; _xsrf=nblineage-test", "X-XSRFToken": "nblineage-test"}
    posts = [("nblineage/test-echo", {})] + [
        (path, query) for method, path, query, _ in requests(lineage) if method == "POST"
    ]
    for path, query in posts:
        assert await status_of(jp_fetch, "POST", path, query, cookie) == 403, path
        assert await status_of(jp_fetch, "POST", path, query, xsrf) not in REFUSED, path
    echoed = await jp_fetch("nblineage", "test-echo", method="POST", body=b"{}", headers=xsrf)
    assert json.loads(echoed.body) == {"ok": True}
    for method, path, query, expected in requests(lineage):  # reading with the cookie needs no XSRF
        if method == "GET":
            code = await status_of(jp_fetch, "GET", path, query, cookie)
            assert code == expected if expected else code not in REFUSED and code < 500, (path, code)
