"""The request boundary: common headers, request ids, errors as OCI bodies, access log."""

from __future__ import annotations

import dataclasses
import json
import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive, Scope, Send

from registry.config import Config, LogConfig
from registry.errors import DIGEST_INVALID, RegistryError
from registry.metrics import Metrics
from registry.middleware import RequestMiddleware
from storage.driver import FileInfo
from storage.errors import BlobUnknown, InvalidPath
from storage.inmemory import InMemoryDriver
from tests.registry.conftest import MakeClient
from tests.registry.helpers import API_VERSION, asgi_request, assert_error, digest_of, push_blob

pytestmark = pytest.mark.anyio

UPLOAD_ID = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"


class FaultyDriver(InMemoryDriver):
    """An in-memory driver whose `stat` fails with a bug, not a storage error, once `broken`."""

    broken = True

    async def stat(self, path: str) -> FileInfo:
        if self.broken:
            raise RuntimeError("driver bug")
        return await super().stat(path)


async def test_unexpected_exception_is_clean_500(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(driver=FaultyDriver())
    with caplog.at_level(logging.ERROR, logger="modelyard"):
        response = await client.get(f"/v2/repo/blobs/uploads/{UPLOAD_ID}")
    error = assert_error(response, 500, "UNKNOWN")
    request_id = response.headers["x-request-id"]
    assert error["detail"] == {"request_id": request_id}
    assert "driver bug" not in response.text
    logged = [r for r in caplog.records if r.name == "modelyard" and r.exc_info]
    assert logged
    assert request_id in logged[0].getMessage()


async def test_unexpected_exception_in_blob_head(make_client: MakeClient) -> None:
    driver = FaultyDriver()
    driver.broken = False
    client = make_client(driver=driver)
    digest = await push_blob(client, "repo", b"data")
    driver.broken = True
    response = await client.head(f"/v2/repo/blobs/{digest}", headers={"X-Request-Id": "abc"})
    assert response.status_code == 500
    assert response.headers["docker-distribution-api-version"] == API_VERSION
    response = await client.get(f"/v2/repo/blobs/{digest}", headers={"X-Request-Id": "abc"})
    assert assert_error(response, 500, "UNKNOWN")["detail"] == {"request_id": "abc"}


def _wrapped(exc: BaseException) -> tuple[RequestMiddleware, Metrics]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise exc

    metrics = Metrics()
    return RequestMiddleware(app, metrics, access=False), metrics


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (RegistryError(DIGEST_INVALID, {"x": 1}), 400, "DIGEST_INVALID"),
        (BlobUnknown("sha256:x"), 404, "BLOB_UNKNOWN"),
        (InvalidPath("/a/../b"), 400, "NAME_INVALID"),
        (ValueError("boom"), 500, "UNKNOWN"),
    ],
)
async def test_exceptions_become_oci_errors(exc: Exception, status: int, code: str) -> None:
    middleware, _ = _wrapped(exc)
    response = await asgi_request(middleware, "GET", "/anything")
    assert response.status == status
    assert response.headers["docker-distribution-api-version"] == API_VERSION
    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["code"] == code


async def test_client_disconnect_is_recorded_not_answered() -> None:
    middleware, metrics = _wrapped(ClientDisconnect())
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "PUT", "path": "/x", "headers": []}
    await middleware(scope, receive, send)
    assert sent == []
    assert metrics.requests.labels("unmatched", "PUT", "499")._value.get() == 1


async def test_error_after_response_started_is_not_answered_twice() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("stream broke")

    metrics = Metrics()
    middleware = RequestMiddleware(app, metrics, access=False)
    response = await asgi_request(middleware, "GET", "/stream")
    assert response.status == 200
    assert response.body == b""
    assert metrics.requests.labels("unmatched", "GET", "200")._value.get() == 1


async def test_lifespan_scope_passes_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        return None

    middleware = RequestMiddleware(app, Metrics())
    await middleware({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"]


@pytest.mark.parametrize("value", ["x" * 129, "bad\u0007id"])
async def test_unusable_request_id_is_replaced(app: Starlette, value: str) -> None:
    response = await asgi_request(app, "GET", "/v2/", headers=[("x-request-id", value)])
    assert response.headers["x-request-id"] != value
    assert len(response.headers["x-request-id"]) == 16


async def test_access_log(client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    digest = digest_of(b"hello")
    with caplog.at_level(logging.INFO, logger="modelyard.access"):
        await client.post(
            "/v2/repo/blobs/uploads/",
            params={"digest": digest},
            content=b"hello",
            headers={"X-Request-Id": "req-1"},
        )
        await client.get(f"/v2/repo/blobs/{digest}", headers={"X-Request-Id": "req-2"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "modelyard.access"]
    assert [line["request_id"] for line in lines] == ["req-1", "req-2"]
    post, get = lines
    assert post["method"] == "POST"
    assert post["path"] == "/v2/repo/blobs/uploads/"
    assert post["status"] == 201
    assert post["bytes_in"] == 5
    assert get["status"] == 200
    assert get["bytes_out"] == 5
    assert get["client"] == "127.0.0.1"
    assert isinstance(get["ms"], float)


async def test_access_log_can_be_disabled(
    make_client: MakeClient, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(dataclasses.replace(config, log=LogConfig(access=False)))
    with caplog.at_level(logging.INFO, logger="modelyard.access"):
        assert (await client.get("/v2/")).status_code == 200
    assert [r for r in caplog.records if r.name == "modelyard.access"] == []
