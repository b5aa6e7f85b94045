"""The model API without a model index: 503 with an error body; its OpenAPI document."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from registry.api.openapi import document
from registry.app import create_app
from registry.config import Config, DatabaseConfig
from storage.driver import StorageDriver
from tests.registry.conftest import client_for
from tests.registry.helpers import API_VERSION, assert_error

pytestmark = pytest.mark.anyio

DIGEST = "sha256:" + "a" * 64
ENDPOINTS = [
    "/api/v1/models",
    "/api/v1/models?family=ormb&metric=accuracy%3E%3D0.9",
    "/api/v1/repositories/team/cnn/versions",
    "/api/v1/repositories/team/cnn/versions/latest",
    f"/api/v1/repositories/team/cnn/manifests/{DIGEST}",
]


@pytest.mark.parametrize("url", ENDPOINTS)
async def test_no_index_is_503(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url)
    error = assert_error(response, 503, "INDEX_UNAVAILABLE")
    assert "disabled" in error["message"]


async def test_disabled_database_is_503_after_startup(
    config: Config, driver: StorageDriver
) -> None:
    disabled = dataclasses.replace(config, database=DatabaseConfig(enabled=False))
    app = create_app(disabled, driver)
    async with app.router.lifespan_context(app), client_for(app) as client:
        for url in ENDPOINTS:
            assert_error(await client.get(url), 503, "INDEX_UNAVAILABLE")
        assert (await client.get("/api/v1/openapi.json")).status_code == 200


async def test_bad_parameters_are_400_before_the_index_is_asked(
    client: httpx.AsyncClient,
) -> None:
    assert_error(await client.get("/api/v1/models?limit=0"), 400, "QUERY_INVALID")
    assert_error(await client.get("/api/v1/repositories/Bad/versions"), 400, "NAME_INVALID")


async def test_openapi_document_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["docker-distribution-api-version"] == API_VERSION
    assert response.json() == document()


async def test_unknown_api_path_is_an_error_body(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/nothing"), 404, "NOT_FOUND")
    assert_error(await client.post("/api/v1/models"), 405, "UNSUPPORTED")
