"""The app's router: Starlette's, plus a dict lookup for the paths that have no parameters.

Starlette matches a request against each route in turn (a regular expression each); with
MLflow's API mounted under two prefixes that is ~40 matches, a noticeable share of a 0.3 ms
``log-metric``. Every endpoint of the REST API has a fixed path, so one dict lookup finds it;
paths with parameters (artifacts, static files) and misses go the ordinary way, which also
answers 404 and 405 as before. The scope is left as Starlette's own matching would leave it
(``route``, ``endpoint``, ``path_params``, and a mount's ``root_path``), so observability and
``url_for`` see no difference.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import Receive, Scope, Send


class ExactPathRouter(Router):
    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        super().__init__(routes=list(routes))
        # path -> [(mount prefix, route)], in the order Starlette would try them.
        self._exact: dict[str, list[tuple[str, Route]]] = {}
        for route in routes:
            if isinstance(route, Mount):
                for inner in route.routes:
                    self._add(route.path, inner)
            else:
                self._add("", route)

    def _add(self, prefix: str, route: BaseRoute) -> None:
        if isinstance(route, Route) and not route.param_convertors:
            self._exact.setdefault(prefix + route.path, []).append((prefix, route))

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            candidates = self._exact.get(scope["path"])
            if candidates is not None:
                method = scope["method"]
                for prefix, route in candidates:
                    if route.methods is None or method in route.methods:
                        scope.setdefault("router", self)
                        if prefix:
                            root_path = scope.get("root_path", "")
                            scope["app_root_path"] = scope.get("app_root_path", root_path)
                            scope["root_path"] = root_path + prefix
                        scope["route"] = route
                        scope["endpoint"] = route.endpoint
                        scope["path_params"] = {}
                        await route.handle(scope, receive, send)
                        return
        await super().app(scope, receive, send)
