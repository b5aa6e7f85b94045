"""KitOps: the Kitfile as JSON (pkg/artifact/kitfile.go) and the Jozu-era format."""

from __future__ import annotations

import json
from typing import Any

from registry.index.extract import detect, extract_record, kitops
from tests.registry.index.extract.manifests import blob, expected, layer, manifest, total_size

CONFIG_TYPE = "application/vnd.kitops.modelkit.config.v1+json"
KIT_ARTIFACT = "application/vnd.kitops.modelkit.manifest.v1+json"
PREFIX = "application/vnd.kitops.modelkit."

# json.Marshal(KitFile): struct order, LayerInfo digest/diffId inlined by `kit pack`.
KITFILE: dict[str, Any] = {
    "manifestVersion": "1.0.0",
    "package": {
        "name": "llama3-8b-instruct",
        "version": "1.0.0",
        "description": "Llama 3 8B instruct, GGUF",
        "license": "Apache-2.0",
        "authors": ["Jozu", "Meta"],
    },
    "model": {
        "name": "llama3-8b-instruct-q4",
        "path": "./llama3-8b-instruct-q4_0.gguf",
        "license": "Llama 3 Community License",
        "framework": "llama.cpp",
        "version": "3",
        "description": "4-bit quantized",
        "parts": [{"path": "./lora-adapter.gguf", "type": "lora-adapter", "license": "MIT"}],
        "parameters": {"temperature": 0.7, "top_p": 0.9, "stop": ["</s>"]},
        "digest": "sha256:" + "a" * 64,
        "diffId": "sha256:" + "b" * 64,
    },
    "code": [{"path": "./src", "description": "fine-tuning code", "license": "MIT"}],
    "datasets": [
        {
            "name": "training-data",
            "path": "./data/train.csv",
            "description": "instructions",
            "license": "CC-BY-4.0",
            "parameters": {"rows": 1000},
        }
    ],
    "docs": [{"path": "README.md", "description": "Readme"}],
    "prompts": [{"path": "prompts/system.txt", "description": "system prompt"}],
}


def kit_layers() -> list[dict[str, Any]]:
    return [
        layer(PREFIX + "model.v1.tar", 4_600_000_000),
        layer(PREFIX + "modelpart.v1.tar", 160_000_000),
        layer(PREFIX + "code.v1.tar+gzip", 20_000),
        layer(PREFIX + "dataset.v1.tar+zstd", 2_000_000),
        layer(PREFIX + "docs.v1.tar", 5_000),
        layer(PREFIX + "code.v1.tar", 300, **{"ml.kitops.modelkit.layer-subtype": "prompt"}),
    ]


def test_kitops_media_types() -> None:
    assert {
        CONFIG_TYPE,
        "application/vnd.kitops.model.config.v1+json",
        "application/vnd.jozu.model.config.v1+json",
    } == kitops.CONFIG_MEDIA_TYPES
    assert {KIT_ARTIFACT} == kitops.ARTIFACT_TYPES
    assert PREFIX + "modelpart.v1.tar+gzip" in kitops.LAYER_MEDIA_TYPES
    assert "application/vnd.jozu.model.content.v1.tar+gzip" in kitops.LAYER_MEDIA_TYPES


def test_kitops_kitfile_config() -> None:
    config = blob(KITFILE)
    body = manifest(
        CONFIG_TYPE,
        config,
        kit_layers(),
        annotations={"ml.kitops.modelkit.cli-version": "1.7.0"},
    )
    assert detect(body) == "kitops"
    assert extract_record(body, config).to_json() == expected(
        "kitops",
        name="llama3-8b-instruct",
        version="1.0.0",
        description="Llama 3 8B instruct, GGUF",
        authors=["Jozu", "Meta"],
        licenses=["Apache-2.0", "Llama 3 Community License", "MIT", "CC-BY-4.0"],
        framework="llama.cpp",
        model_format="gguf",
        hyperparameters={"temperature": 0.7, "top_p": 0.9, "stop": ["</s>"]},
        extra={
            "manifest_media_type": "application/vnd.oci.image.manifest.v1+json",
            "config_media_type": CONFIG_TYPE,
            "layer_count": 6,
            "total_size": total_size(body),
            "manifest_version": "1.0.0",
            "model_path": "./llama3-8b-instruct-q4_0.gguf",
            "model_name": "llama3-8b-instruct-q4",
            "parts": [{"path": "./lora-adapter.gguf", "license": "MIT", "type": "lora-adapter"}],
            "datasets": [
                {
                    "name": "training-data",
                    "path": "./data/train.csv",
                    "description": "instructions",
                    "license": "CC-BY-4.0",
                }
            ],
            "code": [{"path": "./src", "description": "fine-tuning code", "license": "MIT"}],
            "docs": [{"path": "README.md", "description": "Readme"}],
            "prompts": [{"path": "prompts/system.txt", "description": "system prompt"}],
            "cli_version": "1.7.0",
            "layer_kinds": {
                "model": 1,
                "modelpart": 1,
                "code": 1,
                "dataset": 1,
                "docs": 1,
                "prompt": 1,
            },
            "weight_layers": 2,
        },
    )


def test_kitops_artifact_type_wins_and_format_from_parts() -> None:
    document = {
        "manifestVersion": "1.0.0",
        "package": {"name": "sharded"},
        "model": {"path": "./weights", "parts": [{"path": "a.safetensors"}, {"path": "b.bin"}]},
    }
    config = blob(document)
    body = manifest("application/octet-stream", config, [], artifact_type=KIT_ARTIFACT)
    assert detect(body) == "kitops"
    record = extract_record(body, config)
    assert record.name == "sharded"
    assert record.model_format == "safetensors"
    assert record.extra["weight_layers"] == 0
    assert record.parse_errors == []


def test_kitops_config_missing_falls_back_to_kitfile_annotation() -> None:
    body = manifest(
        CONFIG_TYPE,
        b"{}",
        kit_layers()[:1],
        annotations={"ml.kitops.modelkit.kitfile": json.dumps(KITFILE)},
    )
    record = extract_record(body, None)
    assert record.name == "llama3-8b-instruct"
    assert record.framework == "llama.cpp"
    assert record.parse_errors == []


# Kitfile before Feb 2024 (pkg/artifact/jozu_file.go): models[] with training/validation.
JOZU_KITFILE: dict[str, Any] = {
    "manifestVersion": "1.0",
    "package": {"name": "titanic-survival", "version": "0.1.0", "authors": ["Jozu"]},
    "code": [{"path": "./notebooks", "description": "Jupyter notebook", "license": "Apache-2.0"}],
    "datasets": [
        {"name": "training", "path": "./data/train.csv", "preprocessing": "dropna"},
        {"name": "validation", "path": "./data/test.csv"},
    ],
    "models": [
        {
            "name": "titanic-survival-prediction",
            "path": "./model.joblib",
            "framework": "scikit-learn",
            "version": "1.0",
            "description": "Survival classifier",
            "license": "Apache-2.0",
            "training": {
                "dataset": "training",
                "parameters": {"learning_rate": 0.01, "epochs": 10},
            },
            "validation": {
                "dataset": "validation",
                "metrics": {"accuracy": 0.83, "f1": {"macro": "0.8"}, "notes": "baseline"},
            },
        }
    ],
}


def test_kitops_jozu_era_kitfile() -> None:
    config = blob(JOZU_KITFILE)
    body = manifest(
        "application/vnd.jozu.model.config.v1+json",
        config,
        [
            layer("application/vnd.jozu.model.content.v1.tar+gzip", 1_000),
            layer("application/vnd.jozu.dataset.content.v1.tar+gzip", 2_000),
            layer("application/vnd.jozu.model.code.v1.tar+gzip", 3_000),
        ],
    )
    assert detect(body) == "kitops"
    assert extract_record(body, config).to_json() == expected(
        "kitops",
        name="titanic-survival",
        version="0.1.0",
        description="Survival classifier",
        authors=["Jozu"],
        licenses=["Apache-2.0"],
        framework="scikit-learn",
        model_format="joblib",
        metrics={"accuracy": 0.83, "f1.macro": 0.8},
        hyperparameters={"learning_rate": 0.01, "epochs": 10},
        source={"trainingDataset": "training", "validationDataset": "validation"},
        extra={
            "manifest_media_type": "application/vnd.oci.image.manifest.v1+json",
            "config_media_type": "application/vnd.jozu.model.config.v1+json",
            "layer_count": 3,
            "total_size": total_size(body),
            "models_count": 1,
            "manifest_version": "1.0",
            "model_path": "./model.joblib",
            "model_name": "titanic-survival-prediction",
            "datasets": [
                {"name": "training", "path": "./data/train.csv"},
                {"name": "validation", "path": "./data/test.csv"},
            ],
            "code": [
                {"path": "./notebooks", "description": "Jupyter notebook", "license": "Apache-2.0"}
            ],
            "metrics_non_numeric": {"notes": "baseline"},
            "layer_kinds": {"model": 1, "dataset": 1, "code": 1},
            "weight_layers": 1,
        },
    )


def test_kitops_wrong_types() -> None:
    config = blob({"package": "x", "model": {"parts": {"path": "a"}, "parameters": 3}, "docs": [1]})
    record = extract_record(manifest(CONFIG_TYPE, config, []), config)
    assert record.family == "kitops"
    assert record.name is None
    assert record.hyperparameters == {"parameters": 3}
    assert record.parse_errors == [
        "config.package: expected object, got string",
        "config.model.parts: expected array, got object",
        "config.docs[0]: expected object",
    ]


def test_kitops_each_misfit_reported_once() -> None:
    config = blob({"manifestVersion": "1.0.0", "model": {"name": 5, "path": ["x"]}})
    record = extract_record(manifest(CONFIG_TYPE, config, []), config)
    assert record.name == "5"
    assert record.parse_errors == [
        "config.model.name: expected string, got number 5",
        "config.model.path: expected string, got array",
    ]
