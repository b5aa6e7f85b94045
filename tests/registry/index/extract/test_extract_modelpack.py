"""CNCF ModelPack: specs-go/v1 at HEAD (vnd.cncf, camelCase) and the vnd.cnai tags v0.0.1-6."""

from __future__ import annotations

import copy
import json
from typing import Any

from registry.index.extract import detect, extract_record, modelpack
from tests.registry.index.extract.manifests import blob, expected, layer, manifest, total_size

ARTIFACT = "application/vnd.cncf.model.manifest.v1+json"
CONFIG_TYPE = "application/vnd.cncf.model.config.v1+json"
FILEPATH = "org.cncf.model.filepath"
METADATA = "org.cncf.model.file.metadata+json"

# docs/config.md example of model-spec, paramSize "8b".
CONFIG: dict[str, Any] = {
    "descriptor": {
        "createdAt": "2025-01-01T00:00:00Z",
        "authors": ["xyz@xyz.com"],
        "vendor": "XYZ Corp.",
        "family": "xyz3",
        "name": "xyz-3-8B-Instruct",
        "version": "3.1",
        "title": "XYZ 3 8B Instruct",
        "description": "xyz is a large language model.",
        "docURL": "https://www.xyz.com/get-started/",
        "sourceURL": "https://github.com/xyz/xyz3",
        "datasetsURL": ["https://www.xyz.com/datasets/"],
        "revision": "1234567890",
        "licenses": ["Apache-2.0"],
    },
    "config": {
        "architecture": "transformer",
        "format": "pt",
        "paramSize": "8b",
        "precision": "float16",
        "quantization": "gptq",
        "capabilities": {
            "inputTypes": ["text"],
            "outputTypes": ["text", "image"],
            "knowledgeCutoff": "2024-05-21T00:00:00Z",
            "reasoning": True,
            "toolUsage": False,
            "reward": False,
            "languages": ["en", "zh"],
        },
    },
    "modelfs": {"type": "layers", "diffIds": ["sha256:" + "1" * 64, "sha256:" + "2" * 64]},
}


def file_metadata(name: str, size: int) -> str:
    return json.dumps(
        {
            "name": name,
            "mode": 420,
            "uid": 0,
            "gid": 0,
            "size": size,
            "mtime": "2025-01-01T00:00:00Z",
            "typeflag": 48,
        }
    )


def layers(ns: str = "cncf", fp: str = FILEPATH) -> list[dict[str, Any]]:
    def one(kind: str, name: str, size: int, packing: str = "raw") -> dict[str, Any]:
        meta = {fp: name, fp.replace("filepath", "file.metadata+json"): file_metadata(name, size)}
        return layer(f"application/vnd.{ns}.model.{kind}.v1.{packing}", size, **meta)

    return [
        one("weight", "model-00001-of-00002.safetensors", 4_900_000_000),
        one("weight", "model-00002-of-00002.safetensors", 1_100_000_000),
        one("weight.config", "config.json", 700),
        one("weight.config", "tokenizer.json", 9_000_000),
        one("doc", "README.md", 4_000),
        one("doc", "LICENSE", 11_000),
    ]


FILES = [
    "model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors",
    "config.json",
    "tokenizer.json",
    "README.md",
    "LICENSE",
]
KINDS = {"weight": 2, "weight.config": 2, "doc": 2}
CAPABILITIES = {
    "inputTypes": ["text"],
    "outputTypes": ["text", "image"],
    "knowledgeCutoff": "2024-05-21T00:00:00+00:00",
    "reasoning": True,
    "toolUsage": False,
    "reward": False,
    "languages": ["en", "zh"],
}


def test_modelpack_media_types() -> None:
    assert {ARTIFACT, "application/vnd.cnai.model.manifest.v1+json"} == modelpack.ARTIFACT_TYPES
    assert {
        CONFIG_TYPE,
        "application/vnd.cnai.model.config.v1+json",
    } == modelpack.CONFIG_MEDIA_TYPES
    assert "application/vnd.cncf.model.weight.config.v1.tar+zstd" in modelpack.LAYER_MEDIA_TYPES
    assert "application/vnd.cnai.model.doc.v1.tar+gzip" in modelpack.LAYER_MEDIA_TYPES


def test_modelpack_v1_spec_example() -> None:
    config = blob(CONFIG)
    body = manifest(CONFIG_TYPE, config, layers(), artifact_type=ARTIFACT)
    assert detect(body) == "modelpack"
    assert extract_record(body, config).to_json() == expected(
        "modelpack",
        name="xyz-3-8B-Instruct",
        version="3.1",
        description="xyz is a large language model.",
        authors=["xyz@xyz.com"],
        licenses=["Apache-2.0"],
        model_format="pt",
        architecture="transformer",
        parameter_count=8_000_000_000,
        precision="float16",
        quantization="gptq",
        hardware={"capabilities": CAPABILITIES},
        source={
            "docURL": "https://www.xyz.com/get-started/",
            "sourceURL": "https://github.com/xyz/xyz3",
            "revision": "1234567890",
            "datasetsURL": ["https://www.xyz.com/datasets/"],
        },
        created="2025-01-01T00:00:00+00:00",
        extra={
            "manifest_media_type": "application/vnd.oci.image.manifest.v1+json",
            "artifact_type": ARTIFACT,
            "config_media_type": CONFIG_TYPE,
            "layer_count": 6,
            "total_size": total_size(body),
            "spec_namespace": "cncf",
            "model_family": "xyz3",
            "vendor": "XYZ Corp.",
            "title": "XYZ 3 8B Instruct",
            "param_size": "8b",
            "diff_id_count": 2,
            "layer_kinds": KINDS,
            "weight_layers": 2,
            "weight_formats": ["safetensors"],
            "files": FILES,
        },
    )


def test_modelpack_format_from_weight_layers_and_annotation_fallbacks() -> None:
    document = copy.deepcopy(CONFIG)
    del document["config"]["format"]
    for key in ("name", "title", "version", "createdAt"):
        del document["descriptor"][key]
    config = blob(document)
    gguf = [layer("application/vnd.cncf.model.weight.v1.raw", 5_000, **{FILEPATH: "m.Q4.gguf"})]
    body = manifest(
        CONFIG_TYPE,
        config,
        gguf + layers()[:2],
        artifact_type=ARTIFACT,
        annotations={
            "org.opencontainers.image.title": "xyz-3",
            "org.opencontainers.image.version": "3.2",
            "org.opencontainers.image.created": "2025-02-03T04:05:06Z",
        },
    )
    record = extract_record(body, config)
    assert record.model_format == "safetensors"  # most bytes
    assert record.extra["weight_formats"] == ["gguf", "safetensors"]
    assert record.extra["weight_layers"] == 3
    assert (record.name, record.version) == ("xyz-3", "3.2")
    assert record.to_json()["created"] == "2025-02-03T04:05:06+00:00"
    assert record.parse_errors == []


# v0.0.6: vnd.cnai names, org.cnai annotations, snake_case diff_ids and capabilities.
CNAI_CONFIG: dict[str, Any] = {
    "descriptor": {
        "createdAt": "2025-06-01T08:00:00.5+02:00",
        "authors": ["Qwen Team"],
        "family": "qwen2",
        "name": "qwen2-0.5b-instruct",
        "licenses": ["Apache-2.0"],
    },
    "modelfs": {"type": "layers", "diff_ids": ["sha256:" + "3" * 64]},
    "config": {
        "architecture": "transformer",
        "format": "safetensors",
        "paramSize": "0.5b",
        "precision": "bf16",
        "capabilities": {
            "input_types": ["text"],
            "output_types": ["text"],
            "knowledge_cutoff": "2024-06-01T00:00:00Z",
            "reasoning": False,
            "tool_usage": True,
        },
    },
}


def test_modelpack_cnai_snake_case() -> None:
    config = blob(CNAI_CONFIG)
    cnai_layers = layers("cnai", "org.cnai.model.filepath")
    body = manifest(
        "application/vnd.cnai.model.config.v1+json",
        config,
        cnai_layers,
        artifact_type="application/vnd.cnai.model.manifest.v1+json",
    )
    assert detect(body) == "modelpack"
    assert extract_record(body, config).to_json() == expected(
        "modelpack",
        name="qwen2-0.5b-instruct",
        authors=["Qwen Team"],
        licenses=["Apache-2.0"],
        model_format="safetensors",
        architecture="transformer",
        parameter_count=500_000_000,
        precision="bf16",
        hardware={
            "capabilities": {
                "inputTypes": ["text"],
                "outputTypes": ["text"],
                "knowledgeCutoff": "2024-06-01T00:00:00+00:00",
                "reasoning": False,
                "toolUsage": True,
            }
        },
        created="2025-06-01T08:00:00.500000+02:00",
        extra={
            "manifest_media_type": "application/vnd.oci.image.manifest.v1+json",
            "artifact_type": "application/vnd.cnai.model.manifest.v1+json",
            "config_media_type": "application/vnd.cnai.model.config.v1+json",
            "layer_count": 6,
            "total_size": total_size(body),
            "spec_namespace": "cnai",
            "model_family": "qwen2",
            "param_size": "0.5b",
            "diff_id_count": 1,
            "layer_kinds": KINDS,
            "weight_layers": 2,
            "weight_formats": ["safetensors"],
            "files": FILES,
        },
    )


def test_modelpack_v0_0_1_numeric_parameter_size_and_misspelt_quantization() -> None:
    config = blob(
        {
            "descriptor": {"name": "tiny"},
            "modelfs": {"type": "layers", "diff_ids": []},
            "config": {"format": "gguf", "parameterSize": 1_100_000_000, "puantization": "q4_0"},
        }
    )
    tar = [
        layer("application/vnd.cnai.model.weight.v1.tar", 10, **{"org.cnai.model.filepath": "w"})
    ]
    body = manifest("application/vnd.cnai.model.config.v1+json", config, tar)
    assert detect(body) == "modelpack"  # no artifactType in the earliest tools: config decides
    record = extract_record(body, config)
    assert (record.parameter_count, record.quantization) == (1_100_000_000, "q4_0")
    assert record.extra["param_size"] == 1_100_000_000
    assert record.extra["layer_kinds"] == {"weight": 1}
    assert record.parse_errors == []


def test_modelpack_docker_gguf_weight_extension() -> None:
    config = blob({"descriptor": {"name": "smollm2"}, "config": {}, "modelfs": {"diffIds": []}})
    body = manifest(
        CONFIG_TYPE,
        config,
        [layer("application/vnd.cncf.model.weight.v1.gguf", 100), layer("text/plain", 3)],
        artifact_type=ARTIFACT,
    )
    record = extract_record(body, config)
    assert record.model_format == "gguf"
    assert record.extra["layer_kinds"] == {"weight": 1, "other": 1}


def test_modelpack_written_by_kitops_uses_kitfile_annotation() -> None:
    config = blob(
        {
            "descriptor": {"createdAt": "2025-09-01T00:00:00Z", "name": "llama-kit"},
            "modelfs": {"type": "layers", "diffIds": []},
            "config": {},
        }
    )
    kitfile = {
        "manifestVersion": "1.0.0",
        "package": {"name": "llama-kit", "license": "MIT", "authors": ["Jozu"]},
        "model": {
            "name": "llama",
            "path": "./llama.gguf",
            "framework": "llama.cpp",
            "parameters": {"temperature": 0.7},
        },
    }
    body = manifest(
        CONFIG_TYPE,
        config,
        [layer("application/vnd.cncf.model.weight.v1.tar", 100)],
        artifact_type=ARTIFACT,
        annotations={
            "ml.kitops.modelkit.kitfile": json.dumps(kitfile),
            "ml.kitops.modelkit.cli-version": "1.8.0",
        },
    )
    assert detect(body) == "modelpack"
    record = extract_record(body, config)
    assert record.name == "llama-kit"
    assert record.framework == "llama.cpp"
    assert record.model_format == "gguf"  # from the Kitfile's model path
    assert record.authors == ["Jozu"]
    assert record.licenses == ["MIT"]
    assert record.hyperparameters == {"temperature": 0.7}
    assert record.extra["packer"] == "kitops"
    assert record.parse_errors == []


def test_modelpack_bad_param_size_and_types() -> None:
    config = blob(
        {
            "descriptor": {"authors": "me", "createdAt": 5, "licenses": [1, None]},
            "config": {"paramSize": "8x7b", "capabilities": {"reasoning": "yes"}},
            "modelfs": [],
        }
    )
    body = manifest(CONFIG_TYPE, config, [], artifact_type=ARTIFACT)
    record = extract_record(body, config)
    assert record.family == "modelpack"
    assert record.authors == ["me"]
    assert record.licenses == ["1"]
    assert record.parameter_count is None
    assert record.extra["param_size"] == "8x7b"
    assert record.hardware == {"capabilities": {}}
    assert record.parse_errors == [
        "config.descriptor.authors: expected array of strings, got string",
        "config.descriptor.licenses[0]: expected string, got number 1",
        "config.descriptor.createdAt: expected RFC 3339 string, got number",
        "config.config.paramSize: not a parameter count: '8x7b'",
        "config.config.capabilities.reasoning: expected boolean, got string",
        "config.modelfs: expected object, got array",
    ]
