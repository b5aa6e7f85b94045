"""How the harness configures the two servers (no servers started): same storage for both,
registry:2 without the S3 redirect and without AWS_CA_BUNDLE."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bench import servers
from bench.servers import S3_ROOT, S3Service, Server
from bench.settings import Settings
from bench.units import GIB, MIB


def _config(name: servers.ServerName, s3: S3Service | None = None) -> dict[str, Any]:
    text = servers._config(name, Path("/data/root"), 5555, s3, "the-bucket" if s3 else "")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def test_filesystem_configs_use_the_given_folder() -> None:
    assert _config("modelyard")["storage"] == {"filesystem": {"rootdirectory": "/data/root"}}
    registry2 = _config("registry2")
    assert registry2["storage"]["filesystem"] == {"rootdirectory": "/data/root"}
    assert registry2["storage"]["cache"] == {"blobdescriptor": "inmemory"}
    assert registry2["http"]["addr"] == "127.0.0.1:5555"


def test_s3_configs_share_endpoint_and_part_size_and_registry2_does_not_redirect() -> None:
    s3 = S3Service(Path("/unused"), port=4321)
    modelyard, registry2 = _config("modelyard", s3)["storage"], _config("registry2", s3)["storage"]
    assert "filesystem" not in modelyard
    assert "filesystem" not in registry2
    common = {
        "bucket": "the-bucket",
        "region": "us-east-1",
        "regionendpoint": "http://127.0.0.1:4321",
        "rootdirectory": f"/{S3_ROOT}",
        "secure": False,
        "chunksize": servers.S3_CHUNK,
    }
    for section in (modelyard["s3"], registry2["s3"]):
        assert common.items() <= section.items()
        assert section["accesskey"]
        assert section["secretkey"]
    assert modelyard["s3"]["redirect"] is False
    assert registry2["s3"]["v4auth"] is True
    assert registry2["redirect"] == {"disable": True}


def test_registry2_environment_has_no_ca_bundle_or_config_overrides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", "/nonexistent/ca.pem")
    monkeypatch.setenv("REGISTRY_STORAGE", "inmemory")
    monkeypatch.setenv("MODELYARD_STORAGE", "inmemory")
    registry2 = servers._clean_env("registry2")
    assert "AWS_CA_BUNDLE" not in registry2
    assert "REGISTRY_STORAGE" not in registry2
    assert "MODELYARD_STORAGE" not in registry2
    assert "PATH" in registry2
    assert "MODELYARD_STORAGE" not in servers._clean_env("modelyard")


def test_remove_blob_deletes_the_s3_data_object() -> None:
    deleted: list[dict[str, str]] = []

    class FakeClient:
        def delete_object(self, **kwargs: str) -> None:
            deleted.append(kwargs)

    class FakeS3(S3Service):
        def client(self) -> Any:
            return FakeClient()

    server = Server("registry2", Path("/unused"), FakeS3(Path("/unused")), bucket="b")
    server.remove_blob("ab" + "0" * 62)
    key = f"{S3_ROOT}/docker/registry/v2/blobs/sha256/ab/ab{'0' * 62}/data"
    assert deleted == [{"Bucket": "b", "Key": key}]


def test_s3_defaults_are_smaller_and_explicit_sizes_win(tmp_path: Path) -> None:
    fs = Settings.make(tmp_path, "hey", None, 3, False, 10.0)
    assert (fs.size, fs.chunked_size, fs.rss_size, fs.chunk) == (GIB, GIB, 4 * GIB, 16 * MIB)
    s3 = Settings.make(tmp_path, "hey", None, 3, False, 10.0, storage="s3")
    assert (s3.size, s3.chunked_size, s3.rss_size) == (GIB, GIB, GIB // 2)
    mine = Settings.make(
        tmp_path, "hey", GIB, 3, False, 10.0, storage="s3", rss_size=GIB, chunked_size=MIB
    )
    assert (mine.chunked_size, mine.rss_size) == (MIB, GIB)
    smoke = Settings.make(tmp_path, "hey", None, 3, True, 10.0, storage="s3")
    assert smoke.storage == "s3"
    assert smoke.size == smoke.chunked_size == MIB
