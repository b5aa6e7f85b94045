"""oras-py pushes every model format to a real Modelyard process, and the query API finds
each record through its filters: ORMB (config as ormb writes it), CNCF ModelPack with weight
and doc layers, a KitOps ModelKit, a Docker GGUF model and a plain image."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import oras.client
import pytest

from tests.interop import helpers
from tests.interop.helpers import ServerProcess
from tests.registry.index.extract import test_extract_dockermodel as docker
from tests.registry.index.extract import test_extract_generic as generic
from tests.registry.index.extract import test_extract_kitops as kitops
from tests.registry.index.extract import test_extract_modelpack as modelpack
from tests.registry.index.model_fixtures import ORMB_CONFIG, ormb_config
from tests.support.postgres import drop_schema, new_schema

pytestmark = pytest.mark.interop

CLI_VERSION = "ml.kitops.modelkit.cli-version"


@dataclass(frozen=True)
class Format:
    """One artifact to push and the queries that must find exactly it."""

    repository: str
    tag: str
    config: bytes
    config_type: str
    #: file name, content, media type, annotations
    files: list[tuple[str, bytes, str, dict[str, str]]]
    queries: list[dict[str, Any]]
    family: str
    expected: dict[str, Any]
    manifest_annotations: dict[str, str] = field(default_factory=dict)


FORMATS = [
    Format(
        "oras/ormb-cnn",
        "1.0.0",
        ormb_config("1.0.0", {"accuracy": "0.93", "loss": "0.2"}),
        ORMB_CONFIG,
        [("model.tar.gz", b"\x1f\x8b ormb model folder", "application/tar+gzip", {})],
        [
            {"family": "ormb", "metric": "accuracy>=0.9"},
            {"framework": "tensorflow", "format": "SavedModel", "metric": "loss<0.5"},
            {"author": "ce gao", "metric": "training.accuracy>0.92"},
        ],
        "ormb",
        {"metrics": {"training.accuracy": 0.93, "training.loss": 0.2}, "version": None},
    ),
    Format(
        "oras/modelpack-xyz",
        "3.1",
        json.dumps(modelpack.CONFIG).encode(),
        modelpack.CONFIG_TYPE,
        [
            (
                "model.safetensors",
                b"weights",
                "application/vnd.cncf.model.weight.v1.raw",
                {modelpack.FILEPATH: "model.safetensors"},
            ),
            (
                "README.md",
                b"# readme",
                "application/vnd.cncf.model.doc.v1.raw",
                {modelpack.FILEPATH: "README.md"},
            ),
        ],
        [
            {"family": "modelpack", "params_min": "7b", "params_max": "9b"},
            {"quantization": "GPTQ", "license": "apache-2.0"},
            {"name": "xyz-3-8B-*", "repository": "oras/*"},
        ],
        "modelpack",
        {"name": "xyz-3-8B-Instruct", "parameter_count": 8_000_000_000},
    ),
    Format(
        "oras/kit-llama3",
        "latest",
        json.dumps(kitops.KITFILE).encode(),
        kitops.CONFIG_TYPE,
        [("model.tar", b"gguf weights", kitops.PREFIX + "model.v1.tar", {})],
        [
            {"family": "kitops", "framework": "llama.cpp"},
            {"author": "jozu", "annotation": f"{CLI_VERSION}=1.7.0"},
        ],
        "kitops",
        {"name": "llama3-8b-instruct", "version": "1.0.0"},
        {CLI_VERSION: "1.7.0"},
    ),
    Format(
        "oras/docker-llama",
        "8b",
        json.dumps(docker.V02_CONFIG).encode(),
        docker.V02,
        [
            (
                "model.gguf",
                b"llama gguf",
                docker.AI + "gguf.v3",
                {docker.FILEPATH: "model.gguf"},
            ),
            ("LICENSE", b"license text", docker.AI + "license", {}),
        ],
        [
            {"family": "docker-model", "quantization": "q4_k_m"},
            {"architecture": "llama", "format": "gguf", "params_min": "8b"},
        ],
        "docker-model",
        {"quantization": "Q4_K_M", "parameter_count": 8_030_000_000},
    ),
    Format(
        "oras/busybox",
        "1.36.1",
        json.dumps(generic.IMAGE_CONFIG).encode(),
        generic.OCI_CONFIG,
        [("rootfs.tar.gz", b"rootfs", "application/vnd.oci.image.layer.v1.tar+gzip", {})],
        [
            {"family": "oci-image", "license": "GPL-2.0"},
            {"q": "busybox", "family": "oci-image"},
        ],
        "oci-image",
        {"licenses": ["GPL-2.0"]},
        {"org.opencontainers.image.title": "bb"},
    ),
]


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    schema = asyncio.run(new_schema(database_url))
    started = helpers.start_modelyard(
        tmp_path / "root", tmp_path / "servers", database={"url": database_url, "schema": schema}
    )
    try:
        yield started
    finally:
        started.stop()
        asyncio.run(drop_schema(database_url, schema))
    started.check_log()


def oras_push(server: ServerProcess, item: Format, folder: Path) -> str:
    folder.mkdir(parents=True)
    config = folder / "config.json"
    config.write_bytes(item.config)
    files = []
    annotations: dict[str, dict[str, str]] = {"$manifest": item.manifest_annotations}
    for name, data, media_type, layer_annotations in item.files:
        path = folder / name
        path.write_bytes(data)
        files.append(f"{path}:{media_type}")
        annotations[str(path)] = layer_annotations
    annotation_file = folder / "annotations.json"
    annotation_file.write_text(json.dumps(annotations))
    client = oras.client.OrasClient(hostname=server.netloc, insecure=True)
    response = client.push(
        target=f"{server.netloc}/{item.repository}:{item.tag}",
        files=files,
        manifest_config=f"{config}:{item.config_type}",
        annotation_file=str(annotation_file),
        disable_path_validation=True,
    )
    assert response.status_code == 201, response.text
    digest: str = response.headers["Docker-Content-Digest"]
    return digest


def test_oras_push_of_every_format_is_found_by_the_query_api(
    server: ServerProcess, tmp_path: Path
) -> None:
    digests = {
        item.repository: oras_push(server, item, tmp_path / item.repository.replace("/", "-"))
        for item in FORMATS
    }
    api = httpx.Client(base_url=server.url, timeout=30)
    for item in FORMATS:
        for query in item.queries:
            response = api.get("/api/v1/models", params=query)
            assert response.status_code == 200, response.text
            found = [(model["repository"], model["digest"]) for model in response.json()["items"]]
            assert found == [(item.repository, digests[item.repository])], query
        [model] = api.get("/api/v1/models", params={"repository": item.repository}).json()["items"]
        assert model["family"] == item.family
        assert model["tags"] == [item.tag]
        for key, value in item.expected.items():
            assert model[key] == value, (item.repository, key)
        record = api.get(
            f"/api/v1/repositories/{item.repository}/manifests/{digests[item.repository]}"
        ).json()
        assert record["parse_errors"] == [], record["parse_errors"]
        assert [layer["media_type"] for layer in record["layers"]] == [
            media_type for _, _, media_type, _ in item.files
        ]
        for layer, (name, _, _, layer_annotations) in zip(
            record["layers"], item.files, strict=True
        ):
            # oras-py titles each layer with its file name
            assert layer["annotations"] == {
                "org.opencontainers.image.title": name,
                **layer_annotations,
            }
        assert record["annotations"] == item.manifest_annotations
        assert json.loads(item.config) == record["raw_config"]
    assert len(api.get("/api/v1/models").json()["items"]) == len(FORMATS)
