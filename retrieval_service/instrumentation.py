"""Every HTTP response counted and timed by route, status and serving version, errors included.

A pure ASGI middleware, outermost, so it also sees the answers nothing inside raises: the body limit's 413, the
admin dependency's 401/403/404, validation's 422 and unmatched paths. Routes are labelled by their template
(`/admin/load`, never a raw path), so a scanner cannot grow the label set.
"""

from __future__ import annotations

import time

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"
VERSION_KEY = "rarft_version"  # request.state key a router sets to the version that answered


def served_by(request_state, version: str) -> None:
    """Record which version answered, for the metrics labels (call from a route with `request.state`)."""
    setattr(request_state, VERSION_KEY, version)


class RequestMetrics:
    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    def _route(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None and getattr(route, "path", None):
            return route.path
        for candidate in self.routes:  # answered before routing (e.g. 413): match the template ourselves
            match, _ = candidate.matches(scope)
            if match == Match.FULL and getattr(candidate, "path", None):
                return candidate.path
        return UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500  # no response started: the server answers 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            service = getattr(scope["app"].state, "service", None) if "app" in scope else None
            if service is not None:
                route = self._route(scope)
                version = str(scope.get("state", {}).get(VERSION_KEY, ""))
                elapsed = time.perf_counter() - t0
                service.metrics.latency.labels(route, str(status), version).observe(elapsed)
                if status >= 400:
                    service.metrics.errors.labels(route, str(status)).inc()
