"""ORMB: the ormbfile Metadata as kleveross/ormb marshals it (pkg/model/types.go field order)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from registry.index.extract import detect, extract_record, ormb
from tests.registry.index.extract.manifests import blob, expected, layer, manifest, total_size

ORMB_CONFIG = "application/vnd.caicloud.model.config.v1alpha1+json"

# json.Marshal(model.Metadata): struct order, omitempty fields left out when empty.
CONFIG: dict[str, Any] = {
    "author": "Ce Gao <gaoce@caicloud.io>",
    "created": "2020-06-18T10:20:30.123456789+08:00",
    "description": "CNN Model",
    "tags": ["cv", "classification", "cv"],
    "labels": {"tensorflow.version": "2.0.0"},
    "format": "SavedModel",
    "framework": "TensorFlow",
    "metrics": {
        "training": [{"name": "acc", "value": "0.928"}, {"name": "loss", "value": "0.21"}],
        "validation": [{"name": "acc", "value": "0.91"}, {"name": "confusion", "value": "n/a"}],
    },
    "hyperParameters": [
        {"name": "batch_size", "value": "32"},
        {"name": "optimizer", "value": "adam"},
    ],
    "signature": {
        "inputs": [{"name": "input_1", "size": [-1, 224, 224, 3], "dType": "float32"}],
        "outputs": [{"name": "output_1", "size": [-1, 1000], "dType": "float32"}],
        "layers": {"conv": 1},
    },
    "training": {
        "git": {
            "repository": "git@github.com:kleveross/ormb.git",
            "revision": "22f1d8406d464b0c0874075539c1f2e96c253775",
        }
    },
    "dataset": {
        "git": {
            "repository": "https://github.com/zalandoresearch/fashion-mnist",
            "revision": "b2617bb",
        }
    },
    "directoryStructure": [
        "model/",
        "model/saved_model.pb",
        "model/variables/",
        "model/variables/variables.index",
    ],
}


def ormb_manifest(config: bytes) -> dict[str, Any]:
    # deislabs/oras over containerd: image-spec Manifest without mediaType, no annotations.
    return manifest(
        ORMB_CONFIG, config, [layer("application/tar+gzip", 3_456_789)], media_type=None
    )


def test_ormb_media_types() -> None:
    assert frozenset({ORMB_CONFIG}) == ormb.CONFIG_MEDIA_TYPES
    assert frozenset({"application/tar+gzip"}) == ormb.LAYER_MEDIA_TYPES


def test_ormb_full_config() -> None:
    config = blob(CONFIG)
    body = ormb_manifest(config)
    assert detect(body) == "ormb"
    record = extract_record(body, config)
    assert record.created == datetime(
        2020, 6, 18, 10, 20, 30, 123456, tzinfo=timezone(timedelta(hours=8))
    )
    assert record.to_json() == expected(
        "ormb",
        authors=["Ce Gao <gaoce@caicloud.io>"],
        description="CNN Model",
        framework="TensorFlow",
        model_format="SavedModel",
        metrics={"training.acc": 0.928, "training.loss": 0.21, "validation.acc": 0.91},
        hyperparameters={"batch_size": "32", "optimizer": "adam"},
        signature=CONFIG["signature"],
        source={
            "training": {
                "git": {
                    "repository": "git@github.com:kleveross/ormb.git",
                    "revision": "22f1d8406d464b0c0874075539c1f2e96c253775",
                }
            },
            "dataset": {
                "git": {
                    "repository": "https://github.com/zalandoresearch/fashion-mnist",
                    "revision": "b2617bb",
                }
            },
        },
        created="2020-06-18T10:20:30.123456+08:00",
        tags_hint=["cv", "classification"],
        labels={"tensorflow.version": "2.0.0"},
        extra={
            "config_media_type": ORMB_CONFIG,
            "layer_count": 1,
            "total_size": total_size(body),
            "metrics_non_numeric": {"validation.confusion": "n/a"},
            "directory_structure": CONFIG["directoryStructure"],
            "weight_layers": 1,
        },
    )


def test_ormb_minimal_tensorrt_config_with_go_zero_time() -> None:
    # An ormbfile with only author/format/gpuType: Go still writes the zero created time.
    config = blob(
        {
            "author": "Jun Chen <chenjun@caicloud.io>",
            "created": "0001-01-01T00:00:00Z",
            "format": "TensorRT",
            "gpuType": "T4",
            "framework": "TensorFlow",
            "size": 1024,
        }
    )
    body = ormb_manifest(config)
    assert extract_record(body, config).to_json() == expected(
        "ormb",
        authors=["Jun Chen <chenjun@caicloud.io>"],
        framework="TensorFlow",
        model_format="TensorRT",
        hardware={"gpuType": "T4"},
        extra={
            "config_media_type": ORMB_CONFIG,
            "layer_count": 1,
            "total_size": total_size(body),
            "size": 1024,
            "weight_layers": 1,
        },
    )


def test_ormb_metrics_as_flat_list_and_bad_entries_are_reported() -> None:
    config = blob(
        {
            "format": "ONNX",
            "metrics": [{"name": "acc", "value": 0.5}, {"value": "1"}, "x"],
            "hyperParameters": {"lr": "0.1"},
            "tags": "cv",
            "labels": {"a": "b", "n": 3, "o": {}},
            "created": "yesterday",
            "training": {"git": "git@example"},
            "mystery": 1,
        }
    )
    record = extract_record(ormb_manifest(config), config)
    assert record.family == "ormb"
    assert record.model_format == "ONNX"
    assert record.metrics == {"acc": 0.5}
    assert record.hyperparameters == {"lr": "0.1"}
    assert record.tags_hint == ["cv"]
    assert record.labels == {"a": "b", "n": "3"}
    assert record.created is None
    assert record.source is None
    assert record.extra["unknown_fields"] == ["mystery"]
    assert record.parse_errors == [
        "config.created: not an RFC 3339 time: 'yesterday'",
        "config.tags: expected array of strings, got string",
        "config.labels.n: expected string, got number 3",
        "config.labels.o: expected string, got object",
        "config.metrics: expected object of metric lists, got array",
        "config.metrics[1]: metric without a name",
        "config.metrics[2]: expected object",
        "config.hyperParameters: expected array of {name, value}, got object",
        "config.training.git: expected object, got string",
    ]


def test_ormb_annotations_fill_gaps() -> None:
    config = blob({"format": "PMML", "created": "2021-01-02T03:04:05Z"})
    body = ormb_manifest(config)
    body["annotations"] = {
        "org.opencontainers.image.title": "iris",
        "org.opencontainers.image.version": "1.2.0",
        "org.opencontainers.image.created": "1999-01-01T00:00:00Z",
        "org.opencontainers.image.source": "https://example.com/iris",
    }
    record = extract_record(body, config)
    assert (record.name, record.version) == ("iris", "1.2.0")
    assert record.created == datetime(2021, 1, 2, 3, 4, 5, tzinfo=UTC)  # config wins
    assert record.source == {"sourceURL": "https://example.com/iris"}
