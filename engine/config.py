"""Settings: `config.toml` read with tomllib, `APPROVALS_<SECTION>__<KEY>` env overrides, strict keys.

Precedence, lowest to highest: dataclass defaults, the TOML file, the environment, `overrides` (tests).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from engine.errors import ConfigError

ENV_PREFIX = "APPROVALS_"
# Single-underscore process settings that are not config keys (DESIGN.md §6).
RESERVED_ENV = {"APPROVALS_CONFIG", "APPROVALS_LOCALE", "APPROVALS_TEST_POSTGRES_URL", "APPROVALS_CHECK_DUMPS"}


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///var/approvals.db"
    # SQLite durability: FULL makes every acknowledged commit survive power loss.
    sqlite_synchronous: str = "FULL"
    # WAL lets readers and other processes work beside the writer. MEMORY (the rollback journal kept in memory,
    # pages written once to the file) is for a throwaway database one process uses alone: `simulate`'s.
    sqlite_journal_mode: str = "WAL"
    # A new SQLite file's page size (an existing file keeps its own) and the page cache per connection: SQLite's
    # own defaults. `simulate` raises both for its throwaway files (simulation/runner.py says why).
    sqlite_page_size: int = 4096
    sqlite_cache_kib: int = 2000
    busy_timeout_ms: int = 15000
    echo: bool = False


@dataclass(frozen=True)
class PathSettings:
    processes: str = "processes"
    forms: str = "forms"
    var: str = "var"


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 5000
    threads: int = 8
    max_body_bytes: int = 5 * 1024 * 1024
    # A deployed BPMN file (upload through the API or `deploy`); larger ones are refused before parsing.
    max_bpmn_bytes: int = 2 * 1024 * 1024
    log_format: str = "text"  # "text" | "json" (one JSON object per line, with the request id)
    # /metrics without a token (for a Prometheus scraper on a private network); else admins' tokens only.
    metrics_public: bool = False


@dataclass(frozen=True)
class SchedulerSettings:
    enabled: bool = True
    tick_seconds: float = 5.0
    batch_size: int = 100


@dataclass(frozen=True)
class WorkerSettings:
    enabled: bool = True
    topics: tuple[str, ...] = ("*",)
    retries: int = 3
    retry_delay_seconds: float = 30.0
    lock_seconds: float = 300.0
    concurrency: int = 2
    # Fetch-and-lock long polling: the longest a fetch waits for a job, and how often it re-checks meanwhile.
    long_poll_seconds: float = 10.0
    poll_interval_seconds: float = 0.5
    # Remote workers (`approvals worker --url`): bearer token; set it from APPROVALS_WORKERS__TOKEN.
    token: str = ""


@dataclass(frozen=True)
class SecuritySettings:
    # Development only: trust an X-Actor header as the acting user, with every role (DESIGN.md §6).
    dev_identity: bool = False
    # Signs session cookies; set it from the environment. Empty: `var/secret.key` is created once (0600).
    secret_key: str = ""
    session_idle_minutes: int = 30
    max_failed_logins: int = 5
    lockout_minutes: int = 30
    token_days: int = 90
    password_min_length: int = 10
    cookie_secure: bool = False


@dataclass(frozen=True)
class AuditSettings:
    hmac_key: str = ""


@dataclass(frozen=True)
class ClockSettings:
    mode: str = "system"


@dataclass(frozen=True)
class PortalSettings:
    """Applicants' portal and documents (issue 8): upload limits, retention, the address printed on PDFs."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_files: int = 30  # files in one upload
    max_request_bytes: int = 100 * 1024 * 1024  # upload requests only; other requests keep [server] max_body_bytes
    retention_years: int = 30  # project approval records (城建档案: long-term)
    public_url: str = "http://127.0.0.1:5000"  # /verify/<code> links and QR codes on PDFs


@dataclass(frozen=True)
class NotifySettings:
    """Messages to applicants (status changes, correction notices, due dates) through the notifications outbox."""

    email: str = "file"  # file (var/outbox/email/) | smtp | off
    sms: str = "file"  # file (var/outbox/sms/) | off
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""  # from the environment: APPROVALS_NOTIFY__SMTP_PASSWORD
    smtp_from: str = ""
    smtp_starttls: bool = True
    interval_seconds: float = 15.0  # `serve` collects and sends this often
    remind_days: int = 2  # working days before an applicant-side due date


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    paths: PathSettings = field(default_factory=PathSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    workers: WorkerSettings = field(default_factory=WorkerSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    clock: ClockSettings = field(default_factory=ClockSettings)
    portal: PortalSettings = field(default_factory=PortalSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    # Directory that relative paths are resolved against (the config file's directory).
    root: str = "."

    def path(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else Path(self.root) / p


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    target = annotation if isinstance(annotation, type) else None
    text = str(annotation)
    try:
        if target is bool or text == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
                return value.lower() in {"1", "true", "yes", "on"}
            raise ValueError(value)
        if target is int or text == "int":
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if target is float or text == "float":
            return float(value)
        if text.startswith("tuple"):
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, (list, tuple)):
                raise ValueError(value)
            return tuple(str(v) for v in value)
        if not isinstance(value, str):
            raise ValueError(value)
        return value
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid value for {where}: {value!r} (expected {text})") from exc


def _merge(section_cls: type, current: Any, values: Mapping[str, Any], section: str) -> Any:
    hints = get_type_hints(section_cls)
    known = {f.name for f in dataclasses.fields(section_cls)}
    changes = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"unknown config key [{section}] {key}", key=f"{section}.{key}")
        changes[key] = _coerce(value, hints[key], f"[{section}] {key}")
    return dataclasses.replace(current, **changes)


def _apply(settings: Settings, data: Mapping[str, Any], origin: str) -> Settings:
    hints = get_type_hints(Settings)
    sections = {f.name for f in dataclasses.fields(Settings)} - {"root"}
    changes = {}
    for section, values in data.items():
        if section not in sections:
            raise ConfigError(f"unknown config section [{section}] in {origin}", key=section)
        if not isinstance(values, Mapping):
            raise ConfigError(f"[{section}] in {origin} must be a table", key=section)
        changes[section] = _merge(hints[section], getattr(settings, section), values, section)
    return dataclasses.replace(settings, **changes)


def _from_env(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in RESERVED_ENV:
            continue
        rest = name[len(ENV_PREFIX) :]
        if "__" not in rest:
            continue  # single-underscore names are reserved process settings, not config keys
        section, key = rest.split("__", 1)
        data.setdefault(section.lower(), {})[key.lower()] = value
    return data


SQLITE_SYNCHRONOUS = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})
SQLITE_JOURNAL_MODES = frozenset({"WAL", "MEMORY"})


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    config_path = Path(path or environ.get("APPROVALS_CONFIG", "config.toml"))
    settings = Settings(root=str(config_path.resolve().parent))
    if config_path.exists():
        try:
            with config_path.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path}: {exc}") from exc
        settings = _apply(settings, data, str(config_path))
    elif path is not None:
        raise ConfigError(f"config file not found: {config_path}")
    settings = _apply(settings, _from_env(environ), "environment")
    if overrides:
        settings = _apply(settings, overrides, "overrides")
    if settings.database.sqlite_synchronous.upper() not in SQLITE_SYNCHRONOUS:  # it goes into a PRAGMA as is
        raise ConfigError(f"[database] sqlite_synchronous must be one of {', '.join(sorted(SQLITE_SYNCHRONOUS))}, "
                          f"not {settings.database.sqlite_synchronous!r}", key="database.sqlite_synchronous")
    if settings.database.sqlite_journal_mode.upper() not in SQLITE_JOURNAL_MODES:  # into a PRAGMA as well
        raise ConfigError(f"[database] sqlite_journal_mode must be one of {', '.join(sorted(SQLITE_JOURNAL_MODES))}, "
                          f"not {settings.database.sqlite_journal_mode!r}", key="database.sqlite_journal_mode")
    page_size = settings.database.sqlite_page_size  # SQLite ignores any other value without a word
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        raise ConfigError(f"[database] sqlite_page_size must be a power of two from 512 to 65536, not {page_size}",
                          key="database.sqlite_page_size")
    if settings.database.sqlite_cache_kib < 1:
        raise ConfigError(f"[database] sqlite_cache_kib must be at least 1, not {settings.database.sqlite_cache_kib}",
                          key="database.sqlite_cache_kib")
    if settings.server.log_format not in {"text", "json"}:
        raise ConfigError(f"[server] log_format must be 'text' or 'json', not {settings.server.log_format!r}")
    if settings.notify.email not in {"file", "smtp", "off"} or settings.notify.sms not in {"file", "off"}:
        raise ConfigError(f"[notify] email must be file, smtp or off and sms file or off, not "
                          f"{settings.notify.email!r} / {settings.notify.sms!r}")
    if settings.clock.mode not in {"system", "simulated"}:
        raise ConfigError(f"[clock] mode must be 'system' or 'simulated', not {settings.clock.mode!r}")
    return settings
