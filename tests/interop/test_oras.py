"""oras-py against a real Modelyard process: artifacts with a custom config media type,
monolithic and chunked blob uploads, pull back, and referrers (`subject`) with the
artifactType filter."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import httpx
import oras.client
import oras.oci
import pytest

from tests.interop.helpers import OCI_INDEX, OCI_MANIFEST, ServerProcess

pytestmark = pytest.mark.interop

MODEL_CONFIG = "application/vnd.example.model.config.v1+json"
WEIGHTS = "application/vnd.example.model.weights.v1"
README = "text/markdown"
SIGNATURE = "application/vnd.example.signature.v1+json"
SBOM = "application/vnd.example.sbom.v1+json"
ATTESTATION = "application/vnd.example.attestation.v1"
EMPTY = "application/vnd.oci.empty.v1+json"


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _client(server: ServerProcess) -> oras.client.OrasClient:
    return oras.client.OrasClient(hostname=server.netloc, insecure=True)


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _push_model(
    client: oras.client.OrasClient, server: ServerProcess, tmp_path: Path, *, chunked: bool
) -> tuple[str, dict[str, bytes]]:
    rng = random.Random(7)
    files = {
        "model.safetensors": rng.randbytes(300_000),
        "README.md": b"# demo model\n\nPushed by the interop suite.\n",
    }
    src = tmp_path / "push"
    weights = _write(src / "model.safetensors", files["model.safetensors"])
    readme = _write(src / "README.md", files["README.md"])
    config = _write(
        src / "config.json",
        json.dumps({"name": "demo", "format": "safetensors", "version": "1.0.0"}).encode(),
    )
    target = f"{server.netloc}/ml/demo:v1"
    response = client.push(
        target=target,
        files=[f"{weights}:{WEIGHTS}", f"{readme}:{README}"],
        manifest_config=f"{config}:{MODEL_CONFIG}",
        manifest_annotations={"org.opencontainers.image.description": "interop demo"},
        disable_path_validation=True,
        do_chunked=chunked,
        chunk_size=64 * 1024,
    )
    assert response.status_code == 201, response.text
    digest: str = response.headers["Docker-Content-Digest"]
    return digest, files


@pytest.mark.parametrize("chunked", [False, True], ids=["monolithic", "chunked"])
def test_push_and_pull_artifact_with_custom_config(
    modelyard: ServerProcess, tmp_path: Path, chunked: bool
) -> None:
    client = _client(modelyard)
    digest, files = _push_model(client, modelyard, tmp_path, chunked=chunked)

    manifest = client.get_manifest(f"{modelyard.netloc}/ml/demo:v1")
    assert manifest["mediaType"] == OCI_MANIFEST
    assert manifest["config"]["mediaType"] == MODEL_CONFIG
    assert [layer["mediaType"] for layer in manifest["layers"]] == [WEIGHTS, README]
    assert manifest["annotations"]["org.opencontainers.image.description"] == "interop demo"
    raw = httpx.get(
        f"{modelyard.url}/v2/ml/demo/manifests/{digest}", headers={"Accept": OCI_MANIFEST}
    )
    assert _sha256(raw.content) == digest

    config = client.get_blob(f"{modelyard.netloc}/ml/demo:v1", manifest["config"]["digest"])
    assert json.loads(config.content) == {
        "name": "demo",
        "format": "safetensors",
        "version": "1.0.0",
    }

    out = tmp_path / "pulled"
    pulled = client.pull(target=f"{modelyard.netloc}/ml/demo:v1", outdir=str(out))
    assert sorted(Path(path).name for path in pulled) == sorted(files)
    for name, data in files.items():
        assert (out / name).read_bytes() == data, name

    assert client.get_tags(f"{modelyard.netloc}/ml/demo") == ["v1"]


def _subject(server: ServerProcess, repository: str, reference: str) -> oras.oci.Subject:
    head = httpx.head(
        f"{server.url}/v2/{repository}/manifests/{reference}", headers={"Accept": OCI_MANIFEST}
    )
    assert head.status_code == 200
    return oras.oci.Subject(
        mediaType=head.headers["Content-Type"],
        digest=head.headers["Docker-Content-Digest"],
        size=int(head.headers["Content-Length"]),
    )


def _push_blob(server: ServerProcess, repository: str, data: bytes) -> dict[str, object]:
    digest = _sha256(data)
    response = httpx.post(
        f"{server.url}/v2/{repository}/blobs/uploads/",
        params={"digest": digest},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == digest
    return {"digest": digest, "size": len(data)}


def _push_attestation(server: ServerProcess, subject: oras.oci.Subject) -> str:
    """An OCI 1.1 artifact (artifactType + empty config) pushed by digest with plain httpx."""
    empty = _push_blob(server, "ml/demo", b"{}")
    layer = _push_blob(server, "ml/demo", b'{"predicate": "built by the interop suite"}')
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": ATTESTATION,
        "config": {"mediaType": EMPTY, **empty},
        "layers": [{"mediaType": "application/vnd.in-toto+json", **layer}],
        "subject": {"mediaType": subject.mediaType, "digest": subject.digest, "size": subject.size},
        "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
    }
    body = json.dumps(manifest).encode()
    digest = _sha256(body)
    response = httpx.put(
        f"{server.url}/v2/ml/demo/manifests/{digest}",
        content=body,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert response.status_code == 201, response.text
    assert response.headers["OCI-Subject"] == subject.digest
    return digest


def test_referrers_of_a_model(modelyard: ServerProcess, tmp_path: Path) -> None:
    client = _client(modelyard)
    model_digest, _ = _push_model(client, modelyard, tmp_path, chunked=False)
    subject = _subject(modelyard, "ml/demo", "v1")
    assert subject.digest == model_digest

    pushed: dict[str, str] = {}
    for tag, media_type, content in [
        ("sig", SIGNATURE, b'{"signature": "not really"}'),
        ("sbom", SBOM, b'{"packages": []}'),
    ]:
        path = _write(tmp_path / tag / f"{tag}.json", content)
        config = _write(tmp_path / tag / "config.json", b"{}")
        response = client.push(
            target=f"{modelyard.netloc}/ml/demo:{tag}",
            files=[f"{path}:application/json"],
            manifest_config=f"{config}:{media_type}",
            subject=subject,
            disable_path_validation=True,
        )
        assert response.status_code == 201, response.text
        assert response.headers["OCI-Subject"] == subject.digest
        pushed[media_type] = response.headers["Docker-Content-Digest"]
    pushed[ATTESTATION] = _push_attestation(modelyard, subject)

    url = f"{modelyard.url}/v2/ml/demo/referrers/{subject.digest}"
    listing = httpx.get(url)
    assert listing.status_code == 200
    assert listing.headers["Content-Type"].startswith(OCI_INDEX)
    assert "OCI-Filters-Applied" not in listing.headers
    index = listing.json()
    assert index["schemaVersion"] == 2
    assert index["mediaType"] == OCI_INDEX
    found = {entry["artifactType"]: entry for entry in index["manifests"]}
    assert {kind: entry["digest"] for kind, entry in found.items()} == pushed
    for entry in index["manifests"]:
        assert entry["mediaType"] == OCI_MANIFEST
        manifest = httpx.get(
            f"{modelyard.url}/v2/ml/demo/manifests/{entry['digest']}",
            headers={"Accept": OCI_MANIFEST},
        )
        assert entry["size"] == len(manifest.content)
    assert found[ATTESTATION]["annotations"] == {
        "org.opencontainers.image.created": "2024-01-01T00:00:00Z"
    }

    filtered = httpx.get(url, params={"artifactType": SIGNATURE})
    assert filtered.status_code == 200
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    assert [entry["digest"] for entry in filtered.json()["manifests"]] == [pushed[SIGNATURE]]

    none = httpx.get(url, params={"artifactType": "application/vnd.example.nothing"})
    assert none.json()["manifests"] == []

    # a subject with no referrers is an empty index, not an error
    lonely = httpx.get(f"{modelyard.url}/v2/ml/demo/referrers/{pushed[SBOM]}")
    assert lonely.status_code == 200
    assert lonely.json()["manifests"] == []

    # deleting a referrer removes it from the listing
    deleted = httpx.delete(f"{modelyard.url}/v2/ml/demo/manifests/{pushed[SIGNATURE]}")
    assert deleted.status_code == 202
    remaining = {entry["digest"] for entry in httpx.get(url).json()["manifests"]}
    assert remaining == {pushed[SBOM], pushed[ATTESTATION]}
