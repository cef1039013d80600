"""`rarft deploy`: the command-line client of the admin routes of a running service.

    rarft deploy --url http://127.0.0.1:8000 status
    rarft deploy load v1 [--weight 0.1]      rarft deploy split v0=0.5 v1=0.5
    rarft deploy promote v1                   rarft deploy rollback        rarft deploy unload v0
    rarft deploy --registry DIR split v0=0.5 v1=0.5     # no service: record it for every replica

With --url (default) the change goes through a replica's admin routes, which check and warm a loaded version
before recording it; the token comes from RARFT_ADMIN_TOKEN (or --token), the URL from --url or
RARFT_DEPLOY_URL; prints the replica's /versions JSON. With --registry the change is written straight into
REGISTRY/deployment.json (filesystem access is the permission) and every replica following that registry
applies it within its sync interval; prints the recorded deployment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from shared.config import CommandConfig, parse_command, positional
from shared.contract import check_version_name
from shared.errors import UserError


class DeployConfig(CommandConfig):
    """Load, split, promote, roll back or unload retriever versions on a running service, without a restart."""

    action: Literal["status", "load", "split", "promote", "rollback", "unload"] = Field(
        description="status | load NAME | split NAME=WEIGHT ... | promote NAME | rollback | unload NAME",
        json_schema_extra=positional())
    targets: list[str] = Field(default_factory=list, json_schema_extra=positional(),
                               description="the version name (load, promote, unload) or NAME=WEIGHT items (split)")
    url: str = Field(default="http://127.0.0.1:8000", description="service base URL; several replicas as URL1,URL2: "
                     "the change goes to the first, and the command waits until every one serves it")
    registry: Path | None = Field(default=None, description="record the change in this registry's deployment.json "
                                  "instead of calling a service; every replica following the registry applies it")
    token: SecretStr | None = Field(default=None, description="admin bearer token (default: $RARFT_ADMIN_TOKEN, the "
                                    "server's own variable; prefer it to the flag, which shows in `ps`)")
    weight: float | None = Field(default=None, ge=0, description="load: traffic weight once loaded (default: none / newest rule)")
    timeout: float = Field(default=600.0, gt=0, description="seconds to wait (a load embeds nothing but warms up)")

    @model_validator(mode="after")
    def _targets_fit_action(self) -> "DeployConfig":
        wanted = {"load": 1, "promote": 1, "unload": 1, "status": 0, "rollback": 0}.get(self.action)
        if wanted is not None and len(self.targets) != wanted:
            need = "one version name" if wanted else "no arguments"
            raise ValueError(f"{self.action} takes {need}, got {len(self.targets)}: rarft deploy {self.action}"
                             + (" NAME" if wanted else ""))
        if self.action == "split" and not self.targets:
            raise ValueError("split needs NAME=WEIGHT items, e.g. rarft deploy split v0=0.5 v1=0.5")
        return self


def _weights(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[check_version_name(name)] = float(value)
        except ValueError:
            raise UserError(f"bad split item {item!r}: write NAME=WEIGHT, e.g. v0=0.5") from None
    return out


def record(registry: Path, action: str, targets: list[str], weight: float | None) -> dict:
    """Apply one change to REGISTRY/deployment.json under its lock (what a replica's admin route records)."""
    from retrieval_service import deployment as dep
    from shared.manifests import DeploymentManifest
    from shared.versions import discover, read_manifest, version_dir

    if not registry.is_dir():
        raise UserError(f"registry directory {registry} does not exist")
    with dep.locked(registry):
        # before any recorded change, replicas serve every version in the registry (their startup default)
        current = dep.read_deployment(registry) or DeploymentManifest(generation=0, versions=discover(registry))
        if action == "status":
            return current.model_dump()
        order = dep.newest_first(registry, current.versions)
        name = targets[0] if targets else None
        if action == "load":
            read_manifest(version_dir(registry, name))  # exists and parses; each replica verifies checksums on load
            new = dep.with_load(current, name, weight, dep.newest_first(registry, current.versions))
        elif action == "split":
            new = dep.with_split(current, _weights(targets), order)
        elif action == "promote":
            new = dep.with_split(current, {check_version_name(name): 1.0}, order)
        elif action == "rollback":
            new = dep.with_rollback(current, order)
        else:
            new = dep.with_unload(current, name, order)
        dep.write_deployment(registry, new)
    return new.model_dump()


def parse_args(argv: list[str] | None):
    """`rarft deploy`'s options from flags, env vars and --config (shared.config)."""
    return parse_command(DeployConfig, argv, prog="rarft deploy")


def main(argv: list[str]) -> int:
    import httpx

    args = parse_args(argv)
    if args.registry is not None:
        print(json.dumps(record(args.registry, args.action, args.targets, args.weight), indent=2))
        return 0
    token = args.token.get_secret_value() if args.token else os.environ.get("RARFT_ADMIN_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if args.action == "status":
        method, path, body = "GET", "/versions", None
    elif args.action == "load":
        method, path, body = "POST", "/admin/load", {"name": args.targets[0], "weight": args.weight}
    elif args.action == "split":
        method, path, body = "POST", "/admin/split", {"weights": _weights(args.targets)}
    elif args.action == "promote":
        method, path, body = "POST", "/admin/promote", {"name": args.targets[0]}
    elif args.action == "rollback":
        method, path, body = "POST", "/admin/rollback", None
    else:
        method, path, body = "POST", "/admin/unload", {"name": args.targets[0]}
    if method == "POST" and not token:
        raise UserError("admin actions need a token: pass --token or set RARFT_ADMIN_TOKEN")
    urls = [u.strip().rstrip("/") for u in args.url.split(",") if u.strip()]
    answer = _call(httpx, method, urls[0], path, body, headers, args)
    if method == "POST" and len(urls) > 1:  # the others follow the registry: wait until each serves the change
        answer = {"replicas": {urls[0]: answer, **_converged(httpx, urls[1:], answer["generation"], args)}}
    elif len(urls) > 1:
        answer = {"replicas": {u: _call(httpx, method, u, path, body, headers, args) for u in urls}}
    print(json.dumps(answer, indent=2))
    return 0


def _call(httpx, method: str, url: str, path: str, body, headers: dict, args: DeployConfig) -> dict:
    try:
        resp = httpx.request(method, url + path, json=body, headers=headers, timeout=args.timeout)
    except httpx.HTTPError as exc:
        raise UserError(f"cannot reach the service at {url}: {exc}") from None
    if resp.status_code >= 400:
        try:
            detail = resp.json().get("detail", resp.text)
        except ValueError:
            detail = resp.text
        raise UserError(f"{args.action} failed ({resp.status_code}) at {url}: {detail}")
    return resp.json()


def _converged(httpx, urls: list[str], generation: int, args: DeployConfig) -> dict[str, dict]:
    """Each replica's /versions once it serves `generation`; a replica that reports a sync error or times out fails."""
    import time

    deadline, out = time.monotonic() + args.timeout, {}
    for url in urls:
        while True:
            status = _call(httpx, "GET", url, "/versions", None, {}, args)
            if status.get("generation", 0) >= generation:
                out[url] = status
                break
            if status.get("desired_generation", 0) and status["desired_generation"] >= generation and status.get("sync_error"):
                raise UserError(f"{url} did not apply generation {generation}: {status['sync_error']}")
            if time.monotonic() > deadline:
                raise UserError(f"{url} still serves generation {status.get('generation')} after {args.timeout:.0f} s, "
                                f"not {generation}; is it started with the same --registry?")
            time.sleep(0.2)
    return out
