"""`RetrievalClient`: the one HTTP client of the retrieval service.

Every trainer-side caller (GRPO rollouts, labelling, evaluation) goes through this class, so timeouts, retries
and response validation are decided once. It speaks only the `shared.contract` models: a response of the wrong
shape is an error (`RetrievalProtocolError`), never a silent empty retrieval.

Given several replicas (`http://a:8000,http://b:8000`) it sends each call to the next one in turn, and an
attempt that fails on one (connect error, timeout, 5xx) is retried on the next, which is then skipped for a
short cooldown. Replicas of one registry agree on versions and arms, and /feedback is idempotent across them,
so any call may land on any replica.
"""

from __future__ import annotations

import itertools
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


def split_urls(urls: str | Sequence[str]) -> list[str]:
    """`URL1,URL2` (or a list) as base URLs without trailing slashes; each must be http(s)."""
    parts = [u.strip().rstrip("/") for u in (urls.split(",") if isinstance(urls, str) else urls) if u.strip()]
    if not parts:
        raise ValueError("no retrieval URL given")
    for url in parts:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"retrieval URL {url!r} must start with http:// or https://")
    return parts


class RetrievalClient:
    """Pooled httpx client with per-call timeouts, bounded retries and fail-over between replicas.

    Args:
        base_url: e.g. ``http://127.0.0.1:8000``, or several replicas as ``URL1,URL2`` or a list.
        timeout_s: timeout of each HTTP attempt (connect, read, write and pool).
        retries: extra attempts after the first on connect errors, timeouts and 5xx answers (each on the next replica).
        backoff_s: base of the backoff; attempt ``n`` sleeps ``uniform(0, backoff_s * 2**n)``, capped at 5 s
            (tenacity's ``wait_random_exponential``).
        cooldown_s: how long a replica that just failed is skipped while another one is up.
    """

    def __init__(self, base_url: str | Sequence[str], *, timeout_s: float = 10.0, retries: int = 3, backoff_s: float = 0.2,
                 cooldown_s: float = 5.0, headers: dict[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0: a call without a timeout can hang training")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.urls = split_urls(base_url)
        self.base_url = ",".join(self.urls)
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.cooldown_s = cooldown_s
        self._clients = [httpx.Client(
            base_url=url,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
            headers=headers,
            transport=transport,
        ) for url in self.urls]
        self._turn = itertools.count()
        self._down_until = [0.0] * len(self.urls)
        self.calls = [0] * len(self.urls)  # attempts sent to each replica
        self.failovers = 0  # attempts that failed on one replica and moved to the next
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------------- plumbing

    def _request(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """One call with tenacity's retries: transport errors and 5xx answers, full-jitter exponential backoff."""

        def attempt() -> httpx.Response:
            i = self._pick()
            try:
                response = self._clients[i].request(method, path, json=json)
                if response.status_code >= 500:
                    raise _ServerError(f"HTTP {response.status_code} from {self.urls[i]}: {response.text[:200]}")
            except (*_RETRYABLE, _ServerError):
                self._mark_down(i)
                raise
            return response

        def log_retry(state: tenacity.RetryCallState) -> None:
            where = " on the next replica" if len(self.urls) > 1 else ""
            logger.warning("retrieval %s %s failed (%s); retry %d/%d%s", method, path, _describe(state.outcome.exception()),
                           state.attempt_number, self.retries, where)

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

    def _pick(self) -> int:
        """The next replica in turn that is not cooling down after a failure (any one if all are)."""
        with self._lock:
            now, n = time.monotonic(), len(self.urls)
            start = next(self._turn)
            order = [(start + j) % n for j in range(n)]
            i = next((j for j in order if self._down_until[j] <= now), order[0])
            self.calls[i] += 1
            return i

    def _mark_down(self, i: int) -> None:
        with self._lock:
            self._down_until[i] = time.monotonic() + self.cooldown_s
            if len(self.urls) > 1:
                self.failovers += 1

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
        """One GET /readyz per replica without retries: True when every replica answers 200."""
        try:
            return all(http.get("/readyz").status_code == 200 for http in self._clients)
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 30.0, interval: float = 0.2) -> None:
        """Poll /readyz until every replica answers 200 or `timeout` seconds pass (then RetrievalUnavailable)."""
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
        for http in self._clients:
            http.close()

    def __enter__(self) -> RetrievalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
