"""Serve every retriever version in a registry over HTTP (newest takes traffic unless a split is set).

`rarft serve --registry DIR [--host 127.0.0.1] [--port 8000] [--watch]` runs uvicorn on the app factory. Its
options are the service's Settings, as flags, `RARFT_<SETTING>` env vars or a --config file. The admin token is read
from RARFT_ADMIN_TOKEN only (a flag would show it in `ps`); without it the admin routes are disabled.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import create_model

from shared.config import CommandConfig, parse_command
from shared.errors import UserError

logger = logging.getLogger(__name__)

SERVICE_ENV_PREFIX = "RARFT_"  # the service's settings namespace (retrieval_service.settings.Settings)
ENV_ONLY = ("admin_token",)  # a flag would show the token in `ps`


def _serve_config() -> type[CommandConfig]:
    """`rarft serve`'s options are the service Settings' own fields (the same limits), less the admin token."""
    from retrieval_service.settings import Settings

    fields = {name: (field.annotation, field) for name, field in Settings.model_fields.items() if name not in ENV_ONLY}
    return create_model("ServeConfig", __base__=CommandConfig, __doc__=__doc__.split("\n\n")[0], **fields)


def parse_args(argv: list[str] | None):
    """`rarft serve`'s options from flags, RARFT_<SETTING> and --config (shared.config)."""
    return parse_command(_serve_config(), argv, prog="rarft serve", prefix=SERVICE_ENV_PREFIX)


def main(argv: list[str]) -> int:
    cfg = parse_args(argv)
    if not cfg.registry.is_dir():
        raise UserError(f"registry directory {cfg.registry} does not exist; build a version first: "
                        f"rarft build-retriever --bank BANK.jsonl --out {cfg.registry}/v0")
    from shared.versions.index import check_index_device

    check_index_device(cfg.index_device)  # before the service starts, not as every version's load error
    import uvicorn

    from retrieval_service.app import create_app
    from retrieval_service.settings import Settings

    settings = Settings(**cfg.model_dump())  # the admin token comes from RARFT_ADMIN_TOKEN
    if settings.admin_token is None:
        logger.info("RARFT_ADMIN_TOKEN is not set: admin routes are disabled")
    uvicorn.run(create_app(settings), host=cfg.host, port=cfg.port, log_level=cfg.log_level)
    return 0
