"""The model query API (`/api/v1/`) over a catalog of every format, on real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from registry.index.db import Database
from tests.registry.helpers import assert_error, descriptor, digest_of, push_blob, push_manifest
from tests.registry.index.model_fixtures import (
    ORMB_CONFIG,
    SBOM,
    SIGNATURE,
    Catalog,
    ormb_config,
    push_artifact,
    push_catalog,
)
from tests.registry.index.openapi_check import assert_schema

pytestmark = pytest.mark.anyio

Params = Sequence[tuple[str, str]]


@pytest.fixture
async def catalog(indexed_client: httpx.AsyncClient) -> Catalog:
    return await push_catalog(indexed_client)


def database(app: Starlette) -> Database:
    found: Database = app.state.index.database
    return found


async def page(client: httpx.AsyncClient, params: Params) -> dict[str, Any]:
    response = await client.get("/api/v1/models", params=list(params))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert_schema(body, "ModelPage")
    return body


async def walk(
    client: httpx.AsyncClient, params: Params, cursor: str | None = None
) -> list[dict[str, Any]]:
    """Every item of every page (from `cursor` on), following `next_cursor`."""
    items: list[dict[str, Any]] = []
    for _ in range(1000):
        body = await page(client, [*params, *([("cursor", cursor)] if cursor else [])])
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination does not end")


def refs(items: list[dict[str, Any]]) -> list[str]:
    return [f"{item['repository']}@{item['digest']}" for item in items]


async def search(client: httpx.AsyncClient, params: Params) -> set[str]:
    found = refs(await walk(client, params))
    assert len(found) == len(set(found)), found
    return set(found)


ORMB = (
    "team/cnn:1.10.0",
    "team/cnn:1.9.0-rc.1",
    "team/cnn:1.9.0",
    "team/cnn:exp",
    "team/cnn:nightly",
)
DOCKER = ("ai/smollm2:0.1.0", "ai/llama3.1:8b")

# (query parameters, keys of Catalog expected: exactly these and no others)
FILTERS: list[tuple[Params, tuple[str, ...]]] = [
    ([("family", "ormb")], ORMB),
    ([("family", "modelpack")], ("llm/xyz:3.1",)),
    ([("family", "kitops")], ("kit/llama3:latest",)),
    ([("family", "docker-model")], DOCKER),
    ([("family", "oci-image")], ("library/busybox:1.36.1",)),
    ([("family", "oci-artifact")], ()),
    ([("repository", "team/cnn")], ORMB),
    ([("repository", "ai/*")], DOCKER),
    ([("repository", "team")], ()),
    ([("name", "XYZ-3-8b-instruct")], ("llm/xyz:3.1",)),
    ([("name", "*llama*")], ("kit/llama3:latest", "ai/llama3.1:8b")),
    ([("framework", "tensorflow")], ORMB),
    ([("framework", "llama.cpp")], ("kit/llama3:latest",)),
    ([("format", "GGUF")], ("kit/llama3:latest", *DOCKER)),
    ([("format", "savedmodel")], ORMB),
    ([("architecture", "llama")], DOCKER),
    ([("architecture", "transformer")], ("llm/xyz:3.1",)),
    ([("license", "apache-2.0")], ("llm/xyz:3.1", "kit/llama3:latest")),
    ([("license", "MIT")], ("kit/llama3:latest",)),
    ([("license", "GPL-2.0")], ("library/busybox:1.36.1",)),
    ([("license", "GPL")], ()),
    ([("author", "jozu")], ("kit/llama3:latest",)),
    ([("author", "ce gao")], ORMB),
    ([("author", "example.com")], ("library/busybox:1.36.1",)),
    ([("quantization", "q4_k_m")], ("ai/llama3.1:8b",)),
    ([("quantization", "GPTQ")], ("llm/xyz:3.1",)),
    ([("params_min", "1b")], ("llm/xyz:3.1", "ai/llama3.1:8b")),
    ([("params_min", "8030000000")], ("ai/llama3.1:8b",)),
    ([("params_max", "1b")], ("ai/smollm2:0.1.0",)),
    ([("params_min", "300m"), ("params_max", "8b")], ("llm/xyz:3.1", "ai/smollm2:0.1.0")),
    ([("metric", "training.accuracy>=0.9")], ("team/cnn:1.10.0", "team/cnn:1.9.0")),
    ([("metric", "training.accuracy >= 0.91")], ("team/cnn:1.10.0", "team/cnn:1.9.0")),
    ([("metric", "training.accuracy>0.91")], ("team/cnn:1.10.0",)),
    ([("metric", "training.accuracy<0.9")], ("team/cnn:1.9.0-rc.1", "team/cnn:exp")),
    ([("metric", "training.accuracy<=0.85")], ("team/cnn:1.9.0-rc.1", "team/cnn:exp")),
    ([("metric", "training.accuracy=0.95")], ("team/cnn:1.10.0",)),
    ([("metric", "*.accuracy>=0.9")], ("team/cnn:1.10.0", "team/cnn:1.9.0")),
    # a bare name matches the ORMB `group.name` keys whose last segment it is
    ([("metric", "accuracy>=0.9")], ("team/cnn:1.10.0", "team/cnn:1.9.0")),
    ([("metric", "accuracy<0.9")], ("team/cnn:1.9.0-rc.1", "team/cnn:exp")),
    ([("metric", "f1>0")], ("team/cnn:exp",)),
    ([("metric", "accuracy>=0.9"), ("metric", "loss>0.15")], ("team/cnn:1.9.0",)),
    ([("metric", "curacy>=0.9")], ()),
    ([("metric", "ACCURACY>=0.9")], ()),
    ([("metric", "ining.accuracy>=0.9")], ()),
    ([("metric", "acc_racy>=0.9")], ()),
    (
        [("metric", "training.accuracy>=0.9"), ("metric", "training.loss>0.15")],
        ("team/cnn:1.9.0",),
    ),
    ([("metric", "training.f1>0")], ("team/cnn:exp",)),
    ([("annotation", "org.opencontainers.image.title=bb")], ("library/busybox:1.36.1",)),
    ([("annotation", "org.opencontainers.image.title=BB")], ()),
    ([("annotation", "ml.kitops.modelkit.cli-version")], ("kit/llama3:latest",)),
    (
        [
            ("annotation", "org.opencontainers.image.version=3.1"),
            ("annotation", "org.opencontainers.image.version"),
        ],
        ("ai/llama3.1:8b",),
    ),
    ([("q", "cnn")], ORMB),
    ([("q", "large language")], ("llm/xyz:3.1",)),
    ([("q", "TensorFlow")], ORMB),
    ([("q", "busy")], ("library/busybox:1.36.1",)),
    ([("q", "100%")], ()),
    ([("q", "'; DROP TABLE manifests; --")], ()),
    ([("family", "ormb"), ("metric", "training.accuracy<0.9"), ("q", "exp")], ("team/cnn:exp",)),
    ([("family", "docker-model"), ("params_max", "1b")], ("ai/smollm2:0.1.0",)),
]


@pytest.mark.parametrize(("params", "expected"), FILTERS, ids=lambda v: repr(v))
async def test_filter(
    indexed_client: httpx.AsyncClient, catalog: Catalog, params: Params, expected: tuple[str, ...]
) -> None:
    assert await search(indexed_client, params) == catalog.refs(*expected)


async def test_no_filter_lists_every_model_but_not_referrers(
    indexed_client: httpx.AsyncClient, catalog: Catalog
) -> None:
    assert await search(indexed_client, []) == catalog.models()
    with_referrers = await search(indexed_client, [("include_referrers", "true")])
    assert with_referrers == catalog.models() | catalog.refs("signature", "sbom")
    only = await search(
        indexed_client, [("include_referrers", "1"), ("annotation", "org.example.kind")]
    )
    assert only == catalog.refs("signature", "sbom")


async def test_list_item_fields(indexed_client: httpx.AsyncClient, catalog: Catalog) -> None:
    [item] = (await page(indexed_client, [("family", "modelpack")]))["items"]
    pushed_at = item.pop("pushed_at")
    assert datetime.fromisoformat(pushed_at).tzinfo is not None
    assert item["total_size"] > len(b"weights# readme")
    item.pop("total_size")
    assert item == {
        "repository": "llm/xyz",
        "digest": catalog["llm/xyz:3.1"],
        "tags": ["3.1"],
        "media_type": "application/vnd.oci.image.manifest.v1+json",
        "artifact_type": "application/vnd.cncf.model.manifest.v1+json",
        "config_media_type": "application/vnd.cncf.model.config.v1+json",
        "subject_digest": None,
        "family": "modelpack",
        "name": "xyz-3-8B-Instruct",
        "version": "3.1",
        "description": "xyz is a large language model.",
        "authors": ["xyz@xyz.com"],
        "licenses": ["Apache-2.0"],
        "framework": None,
        "format": "pt",
        "architecture": "transformer",
        "parameter_count": 8_000_000_000,
        "precision": "float16",
        "quantization": "gptq",
        "metrics": {},
        "annotations": {},
        "created": "2025-01-01T00:00:00+00:00",
    }
    [ormb] = (await page(indexed_client, [("metric", "training.f1>0")]))["items"]
    assert ormb["metrics"] == {"training.accuracy": 0.5, "training.f1": 0.7}


async def test_pagination_covers_every_row_once_newest_first(
    indexed_client: httpx.AsyncClient, indexed_app: Starlette, catalog: Catalog
) -> None:
    everything = await walk(indexed_client, [("include_referrers", "true"), ("limit", "500")])
    assert len(everything) == len(catalog.digests)
    for limit in (1, 2, 3, 5, 13, 14):
        paged = await walk(indexed_client, [("include_referrers", "true"), ("limit", str(limit))])
        assert refs(paged) == refs(everything), limit
    times = [item["pushed_at"] for item in everything]
    assert times == sorted(times, reverse=True)
    # the newest push comes first: the SBOM, then the signature, then busybox
    assert refs(everything)[:3] == [catalog.ref(k) for k in ("sbom", "signature")] + [
        catalog.ref("library/busybox:1.36.1")
    ]
    first = await page(indexed_client, [("limit", "2"), ("family", "ormb")])
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    last = await page(indexed_client, [("limit", "5"), ("family", "ormb")])
    assert last["next_cursor"] is None


async def test_pagination_with_equal_push_times(
    indexed_client: httpx.AsyncClient, indexed_app: Starlette, catalog: Catalog
) -> None:
    """Keyset ties on pushed_at are broken by repository, then digest."""
    same = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    await database(indexed_app).pool.execute("UPDATE manifests SET pushed_at = $1", same)
    everything = await walk(indexed_client, [("include_referrers", "true"), ("limit", "500")])
    expected = sorted((item["repository"], item["digest"]) for item in everything)
    assert [(i["repository"], i["digest"]) for i in everything] == expected
    for limit in (1, 2, 4):
        paged = await walk(indexed_client, [("include_referrers", "true"), ("limit", str(limit))])
        assert refs(paged) == refs(everything)


async def test_cursor_continues_after_new_pushes(
    indexed_client: httpx.AsyncClient, catalog: Catalog
) -> None:
    """A page boundary stays put when newer manifests arrive: nothing is listed twice."""
    first = await page(indexed_client, [("limit", "3")])
    await push_artifact(
        indexed_client,
        "team/late",
        "1.0.0",
        ormb_config("late", {}),
        ORMB_CONFIG,
        [(b"late tarball", "application/tar+gzip", {})],
    )
    rest = await walk(indexed_client, [("limit", "3")], first["next_cursor"])
    assert set(refs(first["items"])) | set(refs(rest)) == catalog.models()
    assert len(refs(first["items"]) + refs(rest)) == len(catalog.models())


async def test_versions_in_semver_order_then_push_time(
    indexed_client: httpx.AsyncClient, catalog: Catalog
) -> None:
    response = await indexed_client.get("/api/v1/repositories/team/cnn/versions")
    assert response.status_code == 200, response.text
    body = response.json()
    assert_schema(body, "VersionList")
    assert body["repository"] == "team/cnn"
    assert body["complete"] is True
    assert [v["tag"] for v in body["items"]] == ["1.10.0", "1.9.0", "1.9.0-rc.1", "nightly", "exp"]
    assert [v["semver"] for v in body["items"]] == ["1.10.0", "1.9.0", "1.9.0-rc.1", None, None]
    assert [v["prerelease"] for v in body["items"]] == [False, False, True, False, False]
    for version in body["items"]:
        assert version["model"]["digest"] == catalog[f"team/cnn:{version['tag']}"]
        assert version["model"]["tags"] == [version["tag"]]


async def test_versions_take_the_declared_version_when_the_tag_is_none(
    indexed_client: httpx.AsyncClient, catalog: Catalog
) -> None:
    body = (await indexed_client.get("/api/v1/repositories/kit/llama3/versions")).json()
    assert [(v["tag"], v["semver"]) for v in body["items"]] == [("latest", "1.0.0")]
    body = (await indexed_client.get("/api/v1/repositories/ai/llama3.1/versions")).json()
    assert [(v["tag"], v["semver"]) for v in body["items"]] == [("8b", None)]


async def test_latest(indexed_client: httpx.AsyncClient, catalog: Catalog) -> None:
    response = await indexed_client.get("/api/v1/repositories/team/cnn/versions/latest")
    assert response.status_code == 200, response.text
    body = response.json()
    assert_schema(body, "Version")
    assert (body["tag"], body["semver"]) == ("1.10.0", "1.10.0")
    assert body["model"]["digest"] == catalog["team/cnn:1.10.0"]
    # with no semantic version at all, the newest tag
    body = (await indexed_client.get("/api/v1/repositories/ai/llama3.1/versions/latest")).json()
    assert body["tag"] == "8b"


async def test_latest_skips_prereleases_unless_asked(indexed_client: httpx.AsyncClient) -> None:
    for tag in ("2.0.0-rc.1", "v1.0.0", "1.1.0-beta", "snapshot"):
        await push_artifact(
            indexed_client,
            "team/pre",
            tag,
            ormb_config(tag, {}),
            ORMB_CONFIG,
            [(tag.encode(), "application/tar+gzip", {})],
        )
    url = "/api/v1/repositories/team/pre/versions"
    listed = (await indexed_client.get(url)).json()
    assert [v["tag"] for v in listed["items"]] == ["2.0.0-rc.1", "1.1.0-beta", "v1.0.0", "snapshot"]
    assert (await indexed_client.get(url + "/latest")).json()["tag"] == "v1.0.0"
    found = await indexed_client.get(url + "/latest", params={"prerelease": "true"})
    assert found.json()["tag"] == "2.0.0-rc.1"


async def test_latest_of_only_prereleases(indexed_client: httpx.AsyncClient) -> None:
    for tag in ("0.1.0-alpha", "0.1.0-alpha.2", "0.1.0-alpha.10"):
        await push_artifact(
            indexed_client,
            "team/alpha",
            tag,
            ormb_config(tag, {}),
            ORMB_CONFIG,
            [(tag.encode(), "application/tar+gzip", {})],
        )
    body = (await indexed_client.get("/api/v1/repositories/team/alpha/versions")).json()
    assert [v["tag"] for v in body["items"]] == ["0.1.0-alpha.10", "0.1.0-alpha.2", "0.1.0-alpha"]
    latest = await indexed_client.get("/api/v1/repositories/team/alpha/versions/latest")
    assert latest.json()["tag"] == "0.1.0-alpha.10"


async def test_versions_of_unknown_and_untagged_repositories(
    indexed_client: httpx.AsyncClient, catalog: Catalog
) -> None:
    missing = await indexed_client.get("/api/v1/repositories/no/such/versions")
    assert_error(missing, 404, "NAME_UNKNOWN")
    assert_schema(missing.json(), "Error")
    assert_error(
        await indexed_client.get("/api/v1/repositories/no/such/versions/latest"),
        404,
        "NAME_UNKNOWN",
    )
    await push_artifact(
        indexed_client,
        "team/untagged",
        None,
        ormb_config("untagged", {}),
        ORMB_CONFIG,
        [(b"untagged", "application/tar+gzip", {})],
    )
    body = (await indexed_client.get("/api/v1/repositories/team/untagged/versions")).json()
    assert body["items"] == []
    assert_error(
        await indexed_client.get("/api/v1/repositories/team/untagged/versions/latest"),
        404,
        "MANIFEST_UNKNOWN",
    )


async def test_full_record_with_layers_tags_referrers_and_raw_config(
    indexed_client: httpx.AsyncClient, catalog: Catalog
) -> None:
    digest = catalog["team/cnn:1.10.0"]
    response = await indexed_client.get(f"/api/v1/repositories/team/cnn/manifests/{digest}")
    assert response.status_code == 200, response.text
    record = response.json()
    assert_schema(record, "ModelRecord")
    assert record["repository"] == "team/cnn"
    assert record["digest"] == digest
    assert record["family"] == "ormb"
    assert record["tags"] == ["1.10.0"]
    assert [t["tag"] for t in record["tag_details"]] == ["1.10.0"]
    assert record["metrics"] == {"training.accuracy": 0.95, "training.loss": 0.1}
    assert record["raw_config_is_json"] is True
    assert record["raw_config"] == json.loads(
        ormb_config("1.10.0", {"accuracy": "0.95", "loss": "0.1"})
    )
    assert record["parse_errors"] == []
    assert record["subject_digest"] is None
    [layer] = record["layers"]
    tarball = b"model tarball 1.10.0"
    assert layer == {
        "position": 0,
        "media_type": "application/tar+gzip",
        "digest": digest_of(tarball),
        "size": len(tarball),
        "annotations": {},
    }
    referrers = {r["artifact_type"]: r for r in record["referrers"]}
    assert set(referrers) == {SIGNATURE, SBOM}
    assert referrers[SIGNATURE]["digest"] == catalog["signature"]
    assert referrers[SBOM]["digest"] == catalog["sbom"]
    assert referrers[SBOM]["annotations"] == {"org.example.kind": SBOM}
    assert referrers[SBOM]["family"] == "oci-artifact"


async def test_record_of_a_referrer_names_its_subject(
    indexed_client: httpx.AsyncClient, catalog: Catalog
) -> None:
    url = f"/api/v1/repositories/team/cnn/manifests/{catalog['signature']}"
    record = (await indexed_client.get(url)).json()
    assert_schema(record, "ModelRecord")
    assert record["subject_digest"] == catalog["team/cnn:1.10.0"]
    assert record["artifact_type"] == SIGNATURE
    assert record["referrers"] == []
    assert record["tags"] == []


async def test_record_of_a_modelpack_and_an_image(
    indexed_client: httpx.AsyncClient, catalog: Catalog
) -> None:
    url = f"/api/v1/repositories/llm/xyz/manifests/{catalog['llm/xyz:3.1']}"
    record = (await indexed_client.get(url)).json()
    assert_schema(record, "ModelRecord")
    assert record["semver"] is None  # "3.1" is no semantic version
    assert record["source"]["sourceURL"] == "https://github.com/xyz/xyz3"
    assert [layer["annotations"] for layer in record["layers"]] == [
        {"org.cncf.model.filepath": "m"},
        {"org.cncf.model.filepath": "R"},
    ]
    url = f"/api/v1/repositories/library/busybox/manifests/{catalog['library/busybox:1.36.1']}"
    record = (await indexed_client.get(url)).json()
    assert_schema(record, "ModelRecord")
    assert record["semver"] == {"major": 1, "minor": 36, "patch": 1, "prerelease": None}
    assert record["labels"]["org.opencontainers.image.licenses"] == "GPL-2.0"


async def test_record_of_a_malformed_config_keeps_its_text(
    indexed_client: httpx.AsyncClient,
) -> None:
    config = b"{not json"
    await push_blob(indexed_client, "team/broken", config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptor(config, ORMB_CONFIG),
        "layers": [],
    }
    digest = await push_manifest(indexed_client, "team/broken", "v1", manifest)
    url = f"/api/v1/repositories/team/broken/manifests/{digest}"
    record = (await indexed_client.get(url)).json()
    assert_schema(record, "ModelRecord")
    assert record["raw_config"] == "{not json"
    assert record["raw_config_is_json"] is False
    assert record["parse_errors"]
    assert record["layers"] == []


async def test_record_errors(indexed_client: httpx.AsyncClient, catalog: Catalog) -> None:
    unknown = "sha256:" + "0" * 64
    assert_error(
        await indexed_client.get(f"/api/v1/repositories/team/cnn/manifests/{unknown}"),
        404,
        "MANIFEST_UNKNOWN",
    )
    # a digest of another repository is unknown here
    other = catalog["llm/xyz:3.1"]
    assert_error(
        await indexed_client.get(f"/api/v1/repositories/team/cnn/manifests/{other}"),
        404,
        "MANIFEST_UNKNOWN",
    )
    assert_error(
        await indexed_client.get("/api/v1/repositories/team/cnn/manifests/sha256:xyz"),
        400,
        "DIGEST_INVALID",
    )
    assert_error(
        await indexed_client.get(f"/api/v1/repositories/Team/CNN/manifests/{unknown}"),
        400,
        "NAME_INVALID",
    )


BAD_PARAMETERS: list[tuple[Params, str]] = [
    ([("metric", "accuracy")], "metric"),
    ([("metric", "accuracy>=high")], "metric"),
    ([("metric", "accuracy>=nan")], "metric"),
    ([("metric", "accuracy>=inf")], "metric"),
    ([("metric", ">=0.9")], "metric"),
    ([("metric", "a>=1>=2")], "metric"),
    ([("metric", "a!=1")], "metric"),
    ([("annotation", "=value")], "annotation"),
    ([("limit", "0")], "limit"),
    ([("limit", "501")], "limit"),
    ([("limit", "ten")], "limit"),
    ([("params_min", "lots")], "params_min"),
    ([("params_max", "-1")], "params_max"),
    ([("params_min", "10b"), ("params_max", "1b")], "params_min"),
    ([("family", "pytorch")], "family"),
    ([("cursor", "not-a-cursor")], "cursor"),
    ([("cursor", "WzEsMiwzXQ")], "cursor"),  # base64 of [1,2,3]
    ([("include_referrers", "maybe")], "include_referrers"),
    ([("licence", "MIT")], "licence"),
    ([("name", "a"), ("name", "b")], "name"),
    ([("metric", "a>1")] * 33, "metric"),
    ([("q", "x" * 1025)], "q"),
]


@pytest.mark.parametrize(("params", "parameter"), BAD_PARAMETERS, ids=lambda v: repr(v)[:60])
async def test_bad_parameters_are_400(
    indexed_client: httpx.AsyncClient, params: Params, parameter: str
) -> None:
    response = await indexed_client.get("/api/v1/models", params=list(params))
    error = assert_error(response, 400, "QUERY_INVALID")
    assert_schema(response.json(), "Error")
    assert error["detail"]["parameter"] == parameter
    assert parameter in error["message"]


async def test_bad_parameters_of_versions_and_records(
    indexed_client: httpx.AsyncClient, catalog: Catalog
) -> None:
    base = "/api/v1/repositories/team/cnn"
    digest = catalog["team/cnn:1.10.0"]
    for url, params in [
        (base + "/versions", {"limit": "1"}),
        (base + "/versions/latest", {"prerelease": "maybe"}),
        (base + "/versions/latest", {"tag": "x"}),
        (f"{base}/manifests/{digest}", {"layers": "no"}),
    ]:
        assert_error(await indexed_client.get(url, params=params), 400, "QUERY_INVALID")


async def test_injection_attempts_are_plain_values(
    indexed_client: httpx.AsyncClient, indexed_app: Starlette, catalog: Catalog
) -> None:
    for params in (
        [("metric", "x') OR true; --=1")],
        [("metric", "a'b>=0")],
        [("annotation", "'; DROP TABLE tags; --")],
        [("name", "%")],
        [("repository", "_/%")],
        [("author", "%")],
        [("license", "' OR '1'='1")],
    ):
        assert await search(indexed_client, params) == set(), params
    assert await search(indexed_client, []) == catalog.models()


async def test_unreachable_index_is_503(
    indexed_client: httpx.AsyncClient, indexed_app: Starlette
) -> None:
    await database(indexed_app).pool.close()
    response = await indexed_client.get("/api/v1/models")
    assert_error(response, 503, "INDEX_UNAVAILABLE")
    assert response.headers["retry-after"] == "5"


async def test_openapi_is_served_by_the_indexed_app(indexed_client: httpx.AsyncClient) -> None:
    response = await indexed_client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"] == "3.1.0"
