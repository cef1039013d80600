"""`RetrievalClient`: the one HTTP client of the retrieval service.

Every trainer-side caller (GRPO rollouts, labelling, evaluation) goes through this class, so timeouts, retries
and response validation are decided once. It speaks only the `shared.contract` models: a response of the wrong
shape is an error (`RetrievalProtocolError`), never a silent empty retrieval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import tenacity
from pydantic import BaseModel, ValidationError

from shared.contract import Feedback, RetrieveRequest, RetrieveResponse, VersionsResponse

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class RetrievalError(RuntimeError):
    """Base of the client's errors."""


class RetrievalUnavailable(RetrievalError):
    """The service could not be reached (connect error, timeout, 5xx) after all retries."""


class RetrievalProtocolError(RetrievalError):
    """The service answered, but not with what the contract says (4xx, non-JSON, wrong shape)."""


_RETRYABLE = (httpx.TransportError,)  # connect/read/write errors and timeouts


class _ServerError(Exception):
    """A 5xx answer: retried like a transport error."""


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "no error"
    return str(exc) if isinstance(exc, _ServerError) else (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


class RetrievalClient:
    """Pooled httpx client with per-call timeouts and bounded retries (exponential backoff + full jitter).

    Args:
        base_url: e.g. ``http://127.0.0.1:8000``.
        timeout_s: timeout of each HTTP attempt (connect, read, write and pool).
        retries: extra attempts after the first on connect errors, timeouts and 5xx answers.
        backoff_s: base of the backoff; attempt ``n`` sleeps ``uniform(0, backoff_s * 2**n)``, capped at 5 s
            (tenacity's ``wait_random_exponential``).
    """

    def __init__(self, base_url: str, *, timeout_s: float = 10.0, retries: int = 3, backoff_s: float = 0.2,
                 headers: dict[str, str] | None = None, transport: httpx.BaseTransport | None = None) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0: a call without a timeout can hang training")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
            headers=headers,
            transport=transport,
        )
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------------- plumbing

    def _request(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """One call with tenacity's retries: transport errors and 5xx answers, full-jitter exponential backoff."""

        def attempt() -> httpx.Response:
            response = self._http.request(method, path, json=json)
            if response.status_code >= 500:
                raise _ServerError(f"HTTP {response.status_code}: {response.text[:200]}")
            return response

        def log_retry(state: tenacity.RetryCallState) -> None:
            logger.warning("retrieval %s %s failed (%s); retry %d/%d", method, path, _describe(state.outcome.exception()),
                           state.attempt_number, self.retries)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.retries + 1),
            wait=tenacity.wait_random_exponential(multiplier=self.backoff_s, max=5.0),
            retry=tenacity.retry_if_exception_type((*_RETRYABLE, _ServerError)),
            before_sleep=log_retry, reraise=True,
        )
        try:
            return retrying(attempt)
        except (*_RETRYABLE, _ServerError) as exc:
            raise RetrievalUnavailable(
                f"retrieval service at {self.base_url} unavailable: {method} {path} failed after "
                f"{self.retries + 1} attempt(s) (timeout {self.timeout_s}s); last error: {_describe(exc)}"
            ) from None

    def _parse(self, response: httpx.Response, model: type[M]) -> M:
        path = response.request.url.path
        if response.status_code >= 400:
            raise RetrievalProtocolError(f"{path} answered HTTP {response.status_code}: {response.text[:300]}")
        try:
            payload = response.json()
        except ValueError:
            raise RetrievalProtocolError(f"{path} answered non-JSON: {response.text[:200]!r}") from None
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors()[:5])
            raise RetrievalProtocolError(f"{path} answered a malformed {model.__name__}: {problems}") from None

    # ------------------------------------------------------------------------------------------- routes

    def retrieve(self, queries: Sequence[str], k: int, exclude_ids: Sequence[Sequence[str]] | None = None,
                 version: str | None = None, routing_key: str | None = None) -> RetrieveResponse:
        """One batched POST /retrieve; checks the answer has one hit list per query."""
        request = RetrieveRequest(
            queries=list(queries), k=k,
            exclude_ids=[list(ids) for ids in exclude_ids] if exclude_ids is not None else None,
            version=version, routing_key=routing_key,
        )
        response = self._parse(self._request("POST", "/retrieve", request.model_dump(mode="json")), RetrieveResponse)
        if len(response.results) != len(request.queries):
            raise RetrievalProtocolError(
                f"/retrieve answered {len(response.results)} hit lists for {len(request.queries)} queries"
            )
        if any(len(hits) > k for hits in response.results):
            raise RetrievalProtocolError(f"/retrieve answered more than k={k} hits for a query")
        return response

    def submit(self, queries: Sequence[str], k: int, exclude_ids: Sequence[Sequence[str]] | None = None,
               version: str | None = None, routing_key: str | None = None) -> Future[RetrieveResponse]:
        """`retrieve` on a single background thread, so the next batch's retrieval overlaps generation."""
        return self.background(self.retrieve, list(queries), k, exclude_ids, version, routing_key)

    def background(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run `fn(*args)` on the client's single worker thread (calls keep their submission order)."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rarft-retrieval")
            return self._executor.submit(fn, *args)

    def versions(self) -> VersionsResponse:
        return self._parse(self._request("GET", "/versions"), VersionsResponse)

    def feedback(self, feedback: Feedback) -> None:
        response = self._request("POST", "/feedback", feedback.model_dump(mode="json"))
        if response.status_code >= 400:
            raise RetrievalProtocolError(f"/feedback answered HTTP {response.status_code}: {response.text[:300]}")

    def ready(self) -> bool:
        """One GET /readyz without retries: True on 200."""
        try:
            return self._http.get("/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 30.0, interval: float = 0.2) -> None:
        """Poll /readyz until 200 or `timeout` seconds pass (then RetrievalUnavailable)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.ready():
                return
            if time.monotonic() >= deadline:
                raise RetrievalUnavailable(f"retrieval service at {self.base_url} not ready after {timeout:.0f}s")
            time.sleep(interval)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self._http.close()

    def __enter__(self) -> RetrievalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
