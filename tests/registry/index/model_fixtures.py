"""A small catalog of every artifact family, pushed through the registry API.

`push_catalog(client)` pushes, in this order:

- `team/cnn`: five ORMB models (TensorFlow SavedModel, metrics `training.accuracy` etc.)
  tagged 1.10.0, 1.9.0-rc.1, 1.9.0, exp, nightly: push order differs from version order;
- `llm/xyz`: a CNCF ModelPack model (8b, transformer, gptq, Apache-2.0) tagged 3.1;
- `kit/llama3`: a KitOps ModelKit (llama.cpp, gguf, version 1.0.0) tagged latest only;
- `ai/smollm2`: a Docker model artifact v0.1 (gguf, llama, 361.82 M) tagged 0.1.0;
- `ai/llama3.1`: a Docker model artifact v0.2 (gguf, llama, 8.03B, Q4_K_M) tagged 8b;
- `library/busybox`: a plain OCI image (GPL-2.0) tagged 1.36.1;
- two referrers of `team/cnn:1.10.0`, by digest: a signature and an SBOM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.registry.helpers import descriptor, digest_of, encode, push_blob, push_manifest
from tests.registry.index.extract import test_extract_dockermodel as docker
from tests.registry.index.extract import test_extract_generic as generic
from tests.registry.index.extract import test_extract_kitops as kitops
from tests.registry.index.extract import test_extract_modelpack as modelpack

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ORMB_CONFIG = "application/vnd.caicloud.model.config.v1alpha1+json"
SIGNATURE = "application/vnd.example.signature.v1"
SBOM = "application/spdx+json"

#: team/cnn tags in push order, with their training metrics
ORMB_VERSIONS: list[tuple[str, dict[str, str]]] = [
    ("1.10.0", {"accuracy": "0.95", "loss": "0.1"}),
    ("1.9.0-rc.1", {"accuracy": "0.85"}),
    ("1.9.0", {"accuracy": "0.91", "loss": "0.2"}),
    ("exp", {"accuracy": "0.5", "f1": "0.7"}),
    ("nightly", {}),
]


@dataclass
class Catalog:
    """Digests of what was pushed: `digests["team/cnn:1.9.0"]`, `digests["signature"]`."""

    digests: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> str:
        return self.digests[key]

    def models(self) -> set[str]:
        """Every pushed manifest that is not a referrer, as `repository@digest`."""
        return {self.ref(key) for key in self.digests if key not in ("signature", "sbom")}

    def ref(self, key: str) -> str:
        if key in ("signature", "sbom"):
            return f"team/cnn@{self.digests[key]}"
        return f"{key.split(':')[0]}@{self.digests[key]}"

    def refs(self, *keys: str) -> set[str]:
        return {self.ref(key) for key in keys}


def ormb_config(tag: str, metrics: dict[str, str]) -> bytes:
    document: dict[str, Any] = {
        "author": "Ce Gao",
        "description": f"CNN Model {tag}",
        "format": "SavedModel",
        "framework": "TensorFlow",
        "created": "2020-06-18T10:20:30Z",
    }
    if metrics:
        document["metrics"] = {
            "training": [{"name": name, "value": value} for name, value in metrics.items()]
        }
    return json.dumps(document).encode()


async def push_artifact(
    client: httpx.AsyncClient,
    name: str,
    reference: str | None,
    config: bytes,
    config_type: str,
    layers: list[tuple[bytes, str, dict[str, str]]],
    **extra: Any,
) -> str:
    """Push config, layers (data, media type, annotations) and the manifest; its digest."""
    await push_blob(client, name, config)
    descriptors = []
    for data, media_type, layer_annotations in layers:
        await push_blob(client, name, data)
        more = {"annotations": layer_annotations} if layer_annotations else {}
        descriptors.append(descriptor(data, media_type, **more))
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        **({"artifactType": extra.pop("artifact_type")} if "artifact_type" in extra else {}),
        "config": descriptor(config, config_type),
        "layers": descriptors,
        **extra,
    }
    reference = reference or digest_of(encode(manifest))
    return await push_manifest(client, name, reference, manifest)


async def push_referrer(
    client: httpx.AsyncClient, name: str, subject: str, artifact_type: str, payload: bytes
) -> str:
    empty = b"{}"
    return await push_artifact(
        client,
        name,
        None,
        empty,
        "application/vnd.oci.empty.v1+json",
        [(payload, artifact_type, {})],
        artifact_type=artifact_type,
        subject={"mediaType": OCI_MANIFEST, "digest": subject, "size": 1},
        annotations={"org.example.kind": artifact_type},
    )


async def push_catalog(client: httpx.AsyncClient) -> Catalog:
    catalog = Catalog()
    for tag, metrics in ORMB_VERSIONS:
        catalog.digests[f"team/cnn:{tag}"] = await push_artifact(
            client,
            "team/cnn",
            tag,
            ormb_config(tag, metrics),
            ORMB_CONFIG,
            [(f"model tarball {tag}".encode(), "application/tar+gzip", {})],
        )
    catalog.digests["llm/xyz:3.1"] = await push_artifact(
        client,
        "llm/xyz",
        "3.1",
        json.dumps(modelpack.CONFIG).encode(),
        modelpack.CONFIG_TYPE,
        [
            (b"weights", "application/vnd.cncf.model.weight.v1.raw", {modelpack.FILEPATH: "m"}),
            (b"# readme", "application/vnd.cncf.model.doc.v1.raw", {modelpack.FILEPATH: "R"}),
        ],
        artifact_type=modelpack.ARTIFACT,
    )
    catalog.digests["kit/llama3:latest"] = await push_artifact(
        client,
        "kit/llama3",
        "latest",
        json.dumps(kitops.KITFILE).encode(),
        kitops.CONFIG_TYPE,
        [(b"gguf weights", kitops.PREFIX + "model.v1.tar", {})],
        annotations={"ml.kitops.modelkit.cli-version": "1.7.0"},
    )
    catalog.digests["ai/smollm2:0.1.0"] = await push_artifact(
        client,
        "ai/smollm2",
        "0.1.0",
        json.dumps(docker.V01_CONFIG).encode(),
        docker.V01,
        [(b"smol gguf", docker.AI + "gguf.v3", {}), (b"license", docker.AI + "license", {})],
    )
    catalog.digests["ai/llama3.1:8b"] = await push_artifact(
        client,
        "ai/llama3.1",
        "8b",
        json.dumps(docker.V02_CONFIG).encode(),
        docker.V02,
        [(b"llama gguf", docker.AI + "gguf.v3", {docker.FILEPATH: "model.gguf"})],
        annotations={"org.opencontainers.image.version": "3.1"},
    )
    catalog.digests["library/busybox:1.36.1"] = await push_artifact(
        client,
        "library/busybox",
        "1.36.1",
        json.dumps(generic.IMAGE_CONFIG).encode(),
        generic.OCI_CONFIG,
        [(b"rootfs", "application/vnd.oci.image.layer.v1.tar+gzip", {})],
        annotations={"org.opencontainers.image.title": "bb"},
    )
    subject = catalog["team/cnn:1.10.0"]
    catalog.digests["signature"] = await push_referrer(
        client, "team/cnn", subject, SIGNATURE, b"signature bytes"
    )
    catalog.digests["sbom"] = await push_referrer(
        client, "team/cnn", subject, SBOM, b'{"spdxVersion": "SPDX-2.3"}'
    )
    return catalog
