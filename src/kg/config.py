"""Configuration, defined once: every setting with its default and its ``KG_*`` variable.

CLI flags override the environment; the environment overrides the defaults below. The
README's configuration table lists the same settings (a test keeps them in step).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path


def _cores() -> int:
    return os.cpu_count() or 1


@dataclass
class Settings:
    """Settings of the store and the server."""

    store: Path = field(default=Path("var/store"), metadata={"env": "KG_STORE"})
    host: str = field(default="127.0.0.1", metadata={"env": "KG_HOST"})
    port: int = field(default=8000, metadata={"env": "KG_PORT"})
    workers: int = field(default_factory=_cores, metadata={"env": "KG_WORKERS"})
    query_timeout: float = field(default=30.0, metadata={"env": "KG_QUERY_TIMEOUT"})
    max_rows: int = field(default=100_000, metadata={"env": "KG_MAX_ROWS"})
    max_body: int = field(default=1024 * 1024, metadata={"env": "KG_MAX_BODY"})
    max_inflight: int = field(default=8, metadata={"env": "KG_MAX_INFLIGHT"})
    update_token: str | None = field(default=None, metadata={"env": "KG_UPDATE_TOKEN"})
    cors_origins: str = field(default="*", metadata={"env": "KG_CORS_ORIGINS"})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``KG_*`` variables, then ``overrides`` (None values are ignored)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            name = f.metadata["env"]
            if name in env and env[name] != "":
                values[f.name] = _convert(f.type, env[name], name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _convert(type_name: object, raw: str, env_name: str) -> object:
    text = str(type_name)
    try:
        if text.startswith("int"):
            return int(raw)
        if text.startswith("float"):
            return float(raw)
        if text.startswith("Path"):
            return Path(raw)
    except ValueError:
        raise ValueError(f"{env_name}={raw!r} is not a valid {text}") from None
    return raw
