"""Malformed input of every kind gives a record with parse errors, never an exception."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

import registry.index.extract as extract_package
from registry.index.extract import ModelRecord, detect, extract_record
from tests.registry.index.extract import (
    test_extract_dockermodel,
    test_extract_generic,
    test_extract_kitops,
    test_extract_modelpack,
    test_extract_ormb,
)
from tests.registry.index.extract.manifests import blob, layer, manifest

CASES: dict[str, tuple[str, str | None, dict[str, Any]]] = {
    "ormb": ("application/vnd.caicloud.model.config.v1alpha1+json", None, test_extract_ormb.CONFIG),
    "modelpack": (
        "application/vnd.cncf.model.config.v1+json",
        "application/vnd.cncf.model.manifest.v1+json",
        test_extract_modelpack.CONFIG,
    ),
    "modelpack-cnai": (
        "application/vnd.cnai.model.config.v1+json",
        "application/vnd.cnai.model.manifest.v1+json",
        test_extract_modelpack.CNAI_CONFIG,
    ),
    "kitops": ("application/vnd.kitops.modelkit.config.v1+json", None, test_extract_kitops.KITFILE),
    "kitops-jozu": (
        "application/vnd.jozu.model.config.v1+json",
        None,
        test_extract_kitops.JOZU_KITFILE,
    ),
    "docker-model": (
        "application/vnd.docker.ai.model.config.v0.2+json",
        None,
        test_extract_dockermodel.V02_CONFIG,
    ),
    "oci-image": (
        "application/vnd.oci.image.config.v1+json",
        None,
        test_extract_generic.IMAGE_CONFIG,
    ),
}
FAMILY = {
    "ormb": "ormb",
    "modelpack": "modelpack",
    "modelpack-cnai": "modelpack",
    "kitops": "kitops",
    "kitops-jozu": "kitops",
    "docker-model": "docker-model",
    "oci-image": "oci-image",
}


def case_manifest(name: str, config: bytes | None = b"{}") -> dict[str, Any]:
    config_type, artifact, _ = CASES[name]
    layers = [layer("application/octet-stream", 10)]
    return manifest(config_type, config, layers, artifact_type=artifact)


def assert_sound(record: ModelRecord, family: str) -> None:
    assert record.family == family
    text = json.dumps(record.to_json(), allow_nan=False)
    assert "\\u0000" not in text
    assert all(isinstance(error, str) for error in record.parse_errors)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize(
    ("config", "error"),
    [
        (None, "config: blob not available"),
        (b"{", "config: invalid JSON: Expecting property name enclosed in double quotes"),
        (b"", "config: invalid JSON: Expecting value at line 1 column 1"),
        (b"\xff\xfe{}", "config: not UTF-8: invalid start byte at byte 0"),
        (b"[1, 2]", "config: expected a JSON object, got array"),
        (b"null", "config: expected a JSON object, got null"),
        (b"[" * 100_000 + b"]" * 100_000, "config: invalid JSON: nested too deeply"),
    ],
)
def test_broken_config_blob(name: str, config: bytes | None, error: str) -> None:
    record = extract_record(case_manifest(name, config), config)
    assert_sound(record, FAMILY[name])
    assert len(record.parse_errors) == 1
    assert record.parse_errors[0].startswith(error)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_field_of_the_wrong_type(name: str) -> None:
    """Each field of the real fixture replaced, one at a time, by values of every JSON type."""
    document = CASES[name][2]
    for path in _paths(document):
        for bad in (None, True, 7, -1.5, "text", [], ["x", 1], {}, {"k": [1]}):
            mutated = _replace(document, path, bad)
            config = blob(mutated)
            record = extract_record(case_manifest(name, config), config)
            assert_sound(record, FAMILY[name])


def test_random_mutations_never_raise() -> None:
    rng = random.Random(20250704)
    values: list[Any] = [None, False, 0, 2**70, 1e308, "", "\x00\ud800", "8b", [], {}, [[[]]]]
    for _ in range(400):
        name = rng.choice(sorted(CASES))
        document = CASES[name][2]
        paths = _paths(document)
        mutated = document
        for _ in range(rng.randint(1, 6)):
            mutated = _replace(mutated, rng.choice(paths), rng.choice(values))
        config = blob(mutated)
        if rng.random() < 0.2:
            config = config[: rng.randint(0, len(config))]
        body = case_manifest(name, config)
        if rng.random() < 0.3:
            key = rng.choice(["config", "layers", "annotations", "artifactType", "mediaType"])
            body[key] = rng.choice(values)
        record = extract_record(body, config)
        assert_sound(record, detect(body))


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "manifest",
        {},
        {"config": "x"},
        {"config": {"mediaType": 5}},
        {"config": {"mediaType": "application/vnd.cncf.model.config.v1+json"}, "layers": {}},
        {
            "config": {"mediaType": "application/vnd.caicloud.model.config.v1alpha1+json"},
            "layers": [1, {"mediaType": None, "size": "big", "annotations": []}],
            "annotations": {"org.opencontainers.image.created": "soon", "x": 1},
        },
    ],
)
def test_malformed_manifests(body: Any) -> None:
    record = extract_record(body, b"{}")
    assert_sound(record, detect(body))
    assert record.parse_errors


def test_malformed_manifest_errors_are_specific() -> None:
    body = {
        "config": {"mediaType": "application/vnd.caicloud.model.config.v1alpha1+json"},
        "layers": [1, {"mediaType": None, "size": "big", "annotations": []}],
        "annotations": {"org.opencontainers.image.created": "soon", "x": 1},
    }
    record = extract_record(body, b"{}")
    assert record.family == "ormb"
    assert record.parse_errors == [
        "manifest.layers[0]: expected object",
        "manifest.layers[1].annotations: expected object, got array",
        "manifest.annotations.x: expected string, got number 1",
        "manifest.annotations.org.opencontainers.image.created: not an RFC 3339 time",
    ]
    assert extract_record(None, None).parse_errors == [  # type: ignore[arg-type]
        "manifest: expected a JSON object, got NoneType"
    ]


def test_hostile_strings_are_made_storable() -> None:
    config = b'{"descriptor": {"name": "a\\u0000b", "description": "\\ud800x"}, "config": {}}'
    body = case_manifest("modelpack", config)
    data = extract_record(body, config).to_json()
    assert data["name"] == "ab"
    assert data["description"] == "?x"
    text = json.dumps(data, allow_nan=False)
    text.encode("utf-8")


def test_nan_and_infinity_do_not_leak() -> None:
    config = b'{"metrics": {"t": [{"name": "a", "value": "NaN"}, {"name": "b", "value": "inf"}]},'
    config += b' "hyperParameters": [{"name": "x", "value": NaN}], "size": Infinity}'
    body = case_manifest("ormb", config)
    record = extract_record(body, config)
    assert record.metrics == {}
    assert record.hyperparameters == {"x": "NaN"}
    assert record.extra["metrics_non_numeric"] == {"t.a": "NaN", "t.b": "inf"}
    json.dumps(record.to_json(), allow_nan=False)


def test_deeply_nested_extra_is_cut_in_to_json() -> None:
    nested: Any = "leaf"
    for _ in range(500):
        nested = {"n": nested}
    config = blob({"manifestVersion": "1", "model": {"parameters": nested}})
    record = extract_record(case_manifest("kitops", config), config)
    json.dumps(record.to_json(), allow_nan=False)


def test_extractor_bug_still_gives_a_record(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(manifest: dict[str, Any], config: bytes | None) -> ModelRecord:
        raise KeyError("boom")

    monkeypatch.setitem(extract_package._EXTRACTORS, "ormb", broken)
    record = extract_record(case_manifest("ormb"), b"{}")
    assert record.family == "ormb"
    assert record.parse_errors == ["internal error: KeyError: 'boom'"]


def test_oversized_config_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("registry.index.extract.fields.MAX_CONFIG_BYTES", 10)
    record = extract_record(case_manifest("ormb"), b'{"author": "someone"}')
    assert record.parse_errors == ["config: blob too large to parse (21 bytes)"]


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key/index path in a JSON document."""
    out: list[tuple[Any, ...]] = []
    items = document.items() if isinstance(document, dict) else enumerate(document)
    for key, value in items:
        out.append((*prefix, key))
        if isinstance(value, dict | list):
            out.extend(_paths(value, (*prefix, key)))
    return out


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of `document` with the node at `path` replaced (unchanged if path is gone)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, dict) and head in document:
        return {**document, head: _replace(document[head], rest, value)}
    if isinstance(document, list) and isinstance(head, int) and head < len(document):
        copy = list(document)
        copy[head] = _replace(copy[head], rest, value)
        return copy
    return document
