"""`/healthz`, `/readyz` and `/metrics`."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from storage.errors import BackendError
from storage.inmemory import InMemoryDriver
from tests.registry.conftest import MakeClient
from tests.registry.helpers import push_blob, push_image

pytestmark = pytest.mark.anyio


class UnreachableDriver(InMemoryDriver):
    """Storage that fails every listing, as an S3 bucket behind a broken network would."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    async def list(self, path: str) -> list[str]:
        raise self.error


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    await push_image(client, "repo", "v1")
    assert (await client.get("/readyz")).status_code == 200


@pytest.mark.parametrize(
    "error",
    [BackendError("/", "connection refused"), OSError(5, "Input/output error")],
    ids=["backend", "oserror"],
)
async def test_readyz_when_storage_fails(make_client: MakeClient, error: Exception) -> None:
    client = make_client(driver=UnreachableDriver(error))
    response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["storage"] == str(error)
    assert response.headers["docker-distribution-api-version"] == "registry/2.0"
    # liveness does not depend on the storage
    assert (await client.get("/healthz")).status_code == 200


async def test_metrics(client: httpx.AsyncClient) -> None:
    await client.get("/v2/")
    await client.get("/v2/")
    await client.get("/v2/repo/manifests/missing")
    await client.get("/nowhere")
    await push_blob(client, "repo", b"x" * 1000)
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "modelyard_http_requests_total" in text
    requests = samples(text, "modelyard_http_requests_total")
    assert requests[(("method", "GET"), ("route", "/v2/"), ("status", "200"))] == 2
    manifest_route = "/v2/{name:path}/manifests/{reference}"
    assert requests[(("method", "GET"), ("route", manifest_route), ("status", "404"))] == 1
    assert requests[(("method", "GET"), ("route", "unmatched"), ("status", "404"))] == 1
    upload_route = "/v2/{name:path}/blobs/uploads/"
    assert requests[(("method", "POST"), ("route", upload_route), ("status", "201"))] == 1
    received = samples(text, "modelyard_http_received_bytes_total")
    assert received[()] >= 1000
    assert samples(text, "modelyard_blob_upload_duration_seconds_count")[()] == 1
    assert "modelyard_http_request_duration_seconds_bucket" in text
    assert "modelyard_http_sent_bytes_total" in text


async def test_metrics_are_per_app(make_client: MakeClient) -> None:
    first, second = make_client(), make_client()
    await first.get("/v2/")
    text = (await second.get("/metrics")).text
    assert ("method", "GET") not in {
        label for labels in samples(text, "modelyard_http_requests_total") for label in labels
    }
