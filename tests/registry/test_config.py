"""Configuration: YAML file (registry:2 shaped `storage:`), environment overrides, validation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from registry.config import (
    Config,
    ConfigError,
    DeleteConfig,
    EventsConfig,
    FilesystemConfig,
    HttpConfig,
    LimitsConfig,
    LogConfig,
    PrefixConfig,
    ProxyConfig,
    S3Config,
    StorageConfig,
    UpstreamConfig,
    load,
)

REGISTRY2_FILESYSTEM = """\
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: false
http:
  addr: :5001
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
"""

REGISTRY2_S3 = """\
version: 0.1
storage:
  s3:
    accesskey: AKIAEXAMPLE
    secretkey: secret/key
    region: eu-west-1
    regionendpoint: http://minio:9000
    bucket: models
    encrypt: true
    secure: false
    v4auth: true
    chunksize: 5242880
    rootdirectory: /registry
    forcepathstyle: false
    storageclass: REDUCED_REDUNDANCY
  redirect:
    disable: true
  maintenance:
    uploadpurging:
      enabled: false
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(text)
    return path


def test_defaults() -> None:
    config = load(environ={})
    assert config == Config()
    assert config.http == HttpConfig(host="0.0.0.0", port=5000, addr="")
    assert config.storage.driver == "filesystem"
    assert config.storage.filesystem.rootdirectory == Path("./data")
    assert config.storage.delete.enabled is True
    assert config.limits.manifest_max_bytes == 4 << 20
    assert config.log == LogConfig(level="info", access=True)
    assert config.listen() == ("0.0.0.0", 5000)


def test_config_is_immutable() -> None:
    config = load(environ={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.http = HttpConfig()  # type: ignore[misc]
    changed = dataclasses.replace(config, limits=LimitsConfig(manifest_max_bytes=10))
    assert changed.limits.manifest_max_bytes == 10
    assert config.limits.manifest_max_bytes == 4 << 20


def test_registry2_filesystem_config(tmp_path: Path) -> None:
    config = load(write(tmp_path, REGISTRY2_FILESYSTEM), environ={})
    assert config.storage == StorageConfig(
        driver="filesystem",
        filesystem=FilesystemConfig(rootdirectory=Path("/var/lib/registry")),
        delete=DeleteConfig(enabled=False),
    )
    assert isinstance(config.storage.filesystem.rootdirectory, Path)
    assert config.http.addr == ":5001"
    assert config.listen() == ("0.0.0.0", 5001)


def test_registry2_s3_config(tmp_path: Path) -> None:
    config = load(write(tmp_path, REGISTRY2_S3), environ={})
    assert config.storage.driver == "s3"
    assert config.storage.s3 == S3Config(
        bucket="models",
        region="eu-west-1",
        regionendpoint="http://minio:9000",
        accesskey="AKIAEXAMPLE",
        secretkey="secret/key",
        rootdirectory="/registry",
        chunksize=5242880,
        encrypt=True,
        secure=False,
        forcepathstyle=False,
        storageclass="REDUCED_REDUNDANCY",
    )
    assert isinstance(config.storage.s3.chunksize, int)
    assert config.storage.delete.enabled is True


def test_full_modelyard_config(tmp_path: Path) -> None:
    text = """\
http: {host: 127.0.0.1, port: 8080}
storage:
  driver: inmemory
limits: {manifest_max_bytes: 1024}
log: {level: debug, access: false}
"""
    config = load(write(tmp_path, text), environ={})
    assert config.listen() == ("127.0.0.1", 8080)
    assert config.storage.driver == "inmemory"
    assert config.limits.manifest_max_bytes == 1024
    assert config.log == LogConfig(level="debug", access=False)


def test_example_config_in_repository_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.yml"
    assert load(example, environ={}) == Config()


@pytest.mark.parametrize("text", ["", "# only a comment\n", "storage:\n"])
def test_empty_file_is_defaults(tmp_path: Path, text: str) -> None:
    assert load(write(tmp_path, text), environ={}) == Config()


def test_modelyard_environment_overrides(tmp_path: Path) -> None:
    environ = {
        "MODELYARD_HTTP_PORT": "5001",
        "MODELYARD_HTTP_HOST": "127.0.0.1",
        "MODELYARD_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/srv/registry",
        "MODELYARD_STORAGE_DELETE_ENABLED": "false",
        "MODELYARD_LIMITS_MANIFEST_MAX_BYTES": "2048",
        "MODELYARD_LOG_ACCESS": "no",
        "MODELYARD_LOG_LEVEL": "warning",
    }
    config = load(write(tmp_path, REGISTRY2_FILESYSTEM), environ=environ)
    assert config.http.port == 5001
    assert config.http.host == "127.0.0.1"
    assert config.storage.filesystem.rootdirectory == Path("/srv/registry")
    assert config.storage.delete.enabled is False
    assert config.limits.manifest_max_bytes == 2048
    assert config.log == LogConfig(level="warning", access=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("Off", False),
    ],
)
def test_boolean_environment_values(value: str, expected: bool) -> None:
    config = load(environ={"MODELYARD_STORAGE_DELETE_ENABLED": value})
    assert config.storage.delete.enabled is expected


def test_registry_storage_environment(tmp_path: Path) -> None:
    environ = {
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/data/registry",
        "REGISTRY_STORAGE_DELETE_ENABLED": "true",
    }
    config = load(write(tmp_path, REGISTRY2_FILESYSTEM), environ=environ)
    assert config.storage.filesystem.rootdirectory == Path("/data/registry")
    assert config.storage.delete.enabled is True


def test_registry_storage_selects_s3() -> None:
    environ = {
        "REGISTRY_STORAGE": "s3",
        "REGISTRY_STORAGE_S3_BUCKET": "bucket",
        "REGISTRY_STORAGE_S3_REGION": "us-west-2",
        "REGISTRY_STORAGE_S3_REGIONENDPOINT": "http://127.0.0.1:9000",
        "REGISTRY_STORAGE_S3_SECURE": "false",
        "REGISTRY_STORAGE_S3_CHUNKSIZE": "6291456",
    }
    config = load(environ=environ)
    assert config.storage.driver == "s3"
    assert config.storage.s3.bucket == "bucket"
    assert config.storage.s3.region == "us-west-2"
    assert config.storage.s3.regionendpoint == "http://127.0.0.1:9000"
    assert config.storage.s3.secure is False
    assert config.storage.s3.chunksize == 6291456


def test_registry_storage_overrides_file_driver(tmp_path: Path) -> None:
    environ = {"REGISTRY_STORAGE": "s3", "REGISTRY_STORAGE_S3_BUCKET": "b"}
    config = load(write(tmp_path, REGISTRY2_FILESYSTEM), environ=environ)
    assert config.storage.driver == "s3"


def test_registry_http_addr() -> None:
    config = load(environ={"REGISTRY_HTTP_ADDR": ":5001"})
    assert config.http.addr == ":5001"
    assert config.listen() == ("0.0.0.0", 5001)
    config = load(environ={"REGISTRY_HTTP_ADDR": "127.0.0.1:6000"})
    assert config.listen() == ("127.0.0.1", 6000)


def test_only_storage_and_addr_are_taken_from_registry_variables() -> None:
    config = load(environ={"REGISTRY_HTTP_PORT": "1", "REGISTRY_LOG_LEVEL": "debug"})
    assert config.http.port == 5000
    assert config.log.level == "info"


def test_modelyard_variable_wins_over_registry_variable() -> None:
    environ = {
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/registry",
        "MODELYARD_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/modelyard",
    }
    config = load(environ=environ)
    assert config.storage.filesystem.rootdirectory == Path("/modelyard")


def test_environment_wins_over_file(tmp_path: Path) -> None:
    config = load(write(tmp_path, "http: {port: 7000}\n"), environ={"MODELYARD_HTTP_PORT": "7001"})
    assert config.http.port == 7001


def test_addr_wins_over_host_and_port() -> None:
    config = load(
        environ={
            "MODELYARD_HTTP_ADDR": "10.0.0.1:9000",
            "MODELYARD_HTTP_HOST": "127.0.0.1",
            "MODELYARD_HTTP_PORT": "1234",
        }
    )
    assert config.listen() == ("10.0.0.1", 9000)


def test_read_buffer_size_default_and_override(tmp_path: Path) -> None:
    assert load(write(tmp_path, ""), environ={}).http.read_buffer_size == 1 << 20
    environ = {"MODELYARD_HTTP_READ_BUFFER_SIZE": "4194304"}
    assert load(write(tmp_path, ""), environ=environ).http.read_buffer_size == 4 << 20


def test_buffered_downloads_default_and_override(tmp_path: Path) -> None:
    assert load(write(tmp_path, ""), environ={}).http.buffered_downloads == 4
    environ = {"MODELYARD_HTTP_BUFFERED_DOWNLOADS": "0"}
    assert load(write(tmp_path, ""), environ=environ).http.buffered_downloads == 0


def test_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELYARD_HTTP_PORT", "5999")
    assert load().http.port == 5999


BAD_FILES = [
    ("http: {port: abc}\n", "http.port"),
    ("http: {port: true}\n", "http.port"),
    ("http: {addr: nonsense}\n", "http.addr"),
    ("http: {addr: 'host:port'}\n", "http.addr"),
    ("http: {read_buffer_size: 1024}\n", "http.read_buffer_size"),
    ("http: {buffered_downloads: -1}\n", "http.buffered_downloads"),
    ("http: 5000\n", "http: expected a mapping"),
    ("storage: [filesystem]\n", "storage: expected a mapping"),
    ("storage: {delete: {enabled: maybe}}\n", "storage.delete.enabled"),
    ("storage: {driver: gcs}\n", "unknown driver"),
    ("storage: {s3: {region: x}}\n", "bucket"),
    ("storage: {filesystem: {}, s3: {bucket: b}}\n", "more than one driver"),
    ("storage: {s3: {bucket: b, chunksize: big}}\n", "storage.s3.chunksize"),
    ("limits: {manifest_max_bytes: 0}\n", "manifest_max_bytes"),
    ("limits: {manifest_max_bytes: -1}\n", "manifest_max_bytes"),
    ("events: {poll_interval: 0}\n", "events.poll_interval"),
    ("events: {poll_interval: fast}\n", "events.poll_interval"),
    ("events: {backoff_base: .inf}\n", "events.backoff_base"),
    ("events: {backoff_base: true}\n", "events.backoff_base"),
    ("events: {max_attempts: 0}\n", "events.max_attempts"),
    ("events: {batch_size: 0}\n", "events.batch_size"),
    ("events: {backoff_base: 10, backoff_max: 5}\n", "events.backoff_max"),
    ("events: {delivery_timeout: 30, lease_seconds: 30}\n", "events.lease_seconds"),
    ("- a list\n", "top level must be a mapping"),
    ("key: [unclosed\n", "cannot read config"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_bad_file_values(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(write(tmp_path, text), environ={})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MODELYARD_HTTP_PORT": "http"}, "http.port"),
        ({"MODELYARD_STORAGE_DELETE_ENABLED": "perhaps"}, "storage.delete.enabled"),
        ({"REGISTRY_STORAGE": "azure"}, "unknown driver"),
        ({"REGISTRY_STORAGE": "s3"}, "bucket"),
        ({"MODELYARD_LIMITS_MANIFEST_MAX_BYTES": "1.5"}, "manifest_max_bytes"),
        ({"REGISTRY_HTTP_ADDR": "127.0.0.1:"}, "http.addr"),
    ],
)
def test_bad_environment_values(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(environ=environ)


def test_events_section(tmp_path: Path) -> None:
    text = "events: {enabled: false, poll_interval: 0.25, max_attempts: 3, lease_seconds: 90}\n"
    config = load(write(tmp_path, text), environ={"MODELYARD_EVENTS_BACKOFF_MAX": "12.5"})
    assert config.events.enabled is False
    assert config.events.poll_interval == 0.25
    assert config.events.max_attempts == 3
    assert config.events.lease_seconds == 90.0
    assert config.events.backoff_max == 12.5
    assert load(environ={}).events == EventsConfig()


def test_error_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^storage\.s3\.chunksize: invalid value 'big'$"):
        load(write(tmp_path, "storage: {s3: {bucket: b, chunksize: big}}\n"), environ={})
    with pytest.raises(ConfigError, match=r"^http\.port: invalid value 'x'$"):
        load(environ={"MODELYARD_HTTP_PORT": "x"})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load(tmp_path / "missing.yml", environ={})


def test_config_error_is_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


def test_auth_is_off_by_default_and_set_from_the_environment() -> None:
    assert load(environ={}).auth.enabled is False
    config = load(
        environ={
            "MODELYARD_AUTH_ENABLED": "true",
            "MODELYARD_AUTH_ADMIN_USERNAME": "root",
            "MODELYARD_AUTH_ADMIN_PASSWORD": "root-password",
            "MODELYARD_AUTH_TOKEN_EXPIRY": "120",
            "MODELYARD_AUTH_EXTERNAL_ISSUER": "harbor-token-issuer",
            "MODELYARD_AUTH_EXTERNAL_SERVICE": "harbor-registry",
            "MODELYARD_AUTH_EXTERNAL_PUBLICKEY": "/etc/harbor/root.crt",
        }
    )
    assert config.auth.enabled is True
    assert (config.auth.admin.username, config.auth.admin.password) == ("root", "root-password")
    assert config.auth.token.expiry == 120
    assert config.auth.external.service == "harbor-registry"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MODELYARD_DATABASE_ENABLED": "false"}, "needs database.enabled"),
        ({"MODELYARD_AUTH_CHALLENGE": "digest"}, "auth.challenge"),
        ({"MODELYARD_AUTH_TOKEN_ALGORITHM": "HS256"}, "auth.token.algorithm"),
        ({"MODELYARD_AUTH_TOKEN_ALGORITHM": "none"}, "auth.token.algorithm"),
        ({"MODELYARD_AUTH_BCRYPTCOST": "3"}, "auth.bcryptcost"),
        ({"MODELYARD_AUTH_TOKEN_EXPIRY": "0"}, "auth.token.expiry"),
        ({"MODELYARD_AUTH_RATELIMIT_FAILURES": "0"}, "auth.ratelimit.failures"),
        ({"MODELYARD_AUTH_TOKEN_LEEWAY": "-1"}, "auth.token.leeway"),
        ({"MODELYARD_AUTH_EXTERNAL_ISSUER": "harbor"}, "auth.external"),
        ({"MODELYARD_AUTH_ADMIN_USERNAME": "root"}, "auth.admin"),
    ],
)
def test_bad_auth_settings(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(environ={"MODELYARD_AUTH_ENABLED": "true", **environ})


PROXY = """\
proxy:
  manifestttl: 60
  upstreams:
    - name: central
      url: https://harbor.local
      username: robot
      password: secret
      http2: false
      prefixes:
        - local: library/
          remote: library/
        - local: cache/
          remote: ""
"""


def test_proxy_upstreams_are_a_list_of_typed_sections(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(PROXY)
    proxy = load(path, environ={"MODELYARD_PROXY_LEASESECONDS": "5"}).proxy
    assert proxy == ProxyConfig(
        manifestttl=60,
        leaseseconds=5,
        upstreams=(
            UpstreamConfig(
                name="central",
                url="https://harbor.local",
                username="robot",
                password="secret",
                http2=False,
                prefixes=(PrefixConfig("library/", "library/"), PrefixConfig("cache/", "")),
            ),
        ),
    )
    assert load(environ={}).proxy == ProxyConfig()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("url: https://harbor.local", "url"),
        ("name: central", "name"),
        ("local: library/", "local"),
        ('remote: ""', "remote"),
    ],
)
def test_invalid_proxy_upstreams_are_refused(tmp_path: Path, change: str, message: str) -> None:
    broken = {
        "url: https://harbor.local": "url: ftp://harbor.local",
        "name: central": 'name: ""',
        "local: library/": "local: library",
        'remote: ""': "remote: /x",
    }[change]
    path = tmp_path / "config.yml"
    path.write_text(PROXY.replace(change, broken, 1))
    with pytest.raises(ConfigError, match=message):
        load(path, environ={})


def test_a_local_prefix_served_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(PROXY.replace("local: cache/", "local: library/"))
    with pytest.raises(ConfigError, match="two upstreams"):
        load(path, environ={})


def test_upstreams_must_be_a_list(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("proxy:\n  upstreams: {name: central}\n")
    with pytest.raises(ConfigError, match=r"proxy\.upstreams: expected a list"):
        load(path, environ={})
