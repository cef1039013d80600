"""Exception handlers: every bad input is a 4xx whose `detail` says what to fix; never a bare 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from retrieval_service.registry import NotReady, VersionError

logger = logging.getLogger(__name__)


def describe(errors: list[dict]) -> str:
    """'queries: List should have at least 1 item' style lines, readable by a person and a log grep."""
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        where = ".".join(loc) or "body"
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx", {}).get("error", "")
            parts.append(f"request body is not valid JSON ({ctx}); send a JSON object")
        elif err.get("type") == "missing":
            parts.append(f"{where}: field required")
        elif err.get("type") == "extra_forbidden":
            parts.append(f"{where}: unknown field; remove it")
        else:
            msg = err.get("msg", "invalid")
            parts.append(f"{where}: {msg.removeprefix('Value error, ')}")
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": describe(exc.errors()), "errors": errors})

    @app.exception_handler(VersionError)
    async def _version(request: Request, exc: VersionError) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content={"detail": str(exc)})

    @app.exception_handler(NotReady)
    async def _not_ready(request: Request, exc: NotReady) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": f"{exc.args[0] if exc.args else exc}; retry when /readyz answers 200"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s", request.url.path)
        return JSONResponse(status_code=500, content={"detail": f"internal error ({type(exc).__name__}); see the server log"})

