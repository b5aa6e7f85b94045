"""Docker model artifacts: pkg/distribution/types/config.go of docker/model-runner."""

from __future__ import annotations

from typing import Any

from registry.index.extract import detect, dockermodel, extract_record
from tests.registry.index.extract.manifests import blob, expected, layer, manifest, total_size

V01 = "application/vnd.docker.ai.model.config.v0.1+json"
V02 = "application/vnd.docker.ai.model.config.v0.2+json"
AI = "application/vnd.docker.ai."
FILEPATH = "org.cncf.model.filepath"
DIFF_ID = "sha256:" + "c" * 64

# v0.1 as the first `docker model package` wrote it (ai/smollm2 era): one GGUF and a license.
V01_CONFIG: dict[str, Any] = {
    "config": {
        "format": "gguf",
        "quantization": "IQ2_XXS/Q4_K_M",
        "parameters": "361.82 M",
        "architecture": "llama",
        "size": "256.35 MiB",
    },
    "descriptor": {"created": "2025-03-19T10:34:36.123456789Z"},
    "rootfs": {"type": "layers", "diff_ids": [DIFF_ID, DIFF_ID]},
}

# v0.2, one layer per file, GGUF metadata and context size from the builder.
V02_CONFIG: dict[str, Any] = {
    "config": {
        "format": "gguf",
        "quantization": "Q4_K_M",
        "parameters": "8.03B",
        "architecture": "llama",
        "size": "4.92GB",
        "gguf": {
            "general.name": "Meta Llama 3.1 8B Instruct",
            "general.license": "llama3.1",
            "general.architecture": "llama",
            "llama.context_length": "131072",
        },
        "context_size": 8192,
    },
    "descriptor": {"created": "2025-10-01T12:00:00Z"},
    "rootfs": {"type": "layers", "diff_ids": [DIFF_ID] * 5},
}


def test_docker_media_types() -> None:
    assert {V01, V02} == dockermodel.CONFIG_MEDIA_TYPES
    assert dockermodel.is_config_media_type("application/vnd.docker.ai.model.config.v0.3+json")
    assert not dockermodel.is_config_media_type("application/vnd.docker.ai.gguf.v3")
    assert AI + "chat.template.jinja" in dockermodel.LAYER_MEDIA_TYPES


def test_docker_gguf_v0_1() -> None:
    config = blob(V01_CONFIG)
    body = manifest(
        V01, config, [layer(AI + "gguf.v3", 268_800_000), layer(AI + "license", 11_357)]
    )
    assert detect(body) == "docker-model"
    assert extract_record(body, config).to_json() == expected(
        "docker-model",
        model_format="gguf",
        architecture="llama",
        parameter_count=361_820_000,
        quantization="IQ2_XXS/Q4_K_M",
        created="2025-03-19T10:34:36.123456+00:00",
        extra={
            "manifest_media_type": "application/vnd.oci.image.manifest.v1+json",
            "config_media_type": V01,
            "layer_count": 2,
            "total_size": total_size(body),
            "config_version": "0.1",
            "parameters": "361.82 M",
            "size": "256.35 MiB",
            "diff_id_count": 2,
            "layer_kinds": {"gguf": 1, "license": 1},
            "weight_layers": 1,
        },
    )


def test_docker_gguf_v0_2_layer_per_file() -> None:
    config = blob(V02_CONFIG)
    layers = [
        layer(AI + "gguf.v3", 4_920_000_000, **{FILEPATH: "model/llama-3.1-8b-q4_k_m.gguf"}),
        layer(AI + "mmproj", 600_000_000, **{FILEPATH: "mmproj.gguf"}),
        layer(AI + "chat.template.jinja", 4_000, **{FILEPATH: "template.jinja"}),
        layer(AI + "license", 7_000, **{FILEPATH: "LICENSE"}),
        layer(AI + "model.file", 900, **{FILEPATH: "config.json"}),
    ]
    body = manifest(V02, config, layers, annotations={"org.opencontainers.image.version": "3.1"})
    assert detect(body) == "docker-model"
    assert extract_record(body, config).to_json() == expected(
        "docker-model",
        name="Meta Llama 3.1 8B Instruct",
        version="3.1",
        licenses=["llama3.1"],
        model_format="gguf",
        architecture="llama",
        parameter_count=8_030_000_000,
        quantization="Q4_K_M",
        created="2025-10-01T12:00:00+00:00",
        extra={
            "manifest_media_type": "application/vnd.oci.image.manifest.v1+json",
            "config_media_type": V02,
            "layer_count": 5,
            "total_size": total_size(body),
            "config_version": "0.2",
            "parameters": "8.03B",
            "size": "4.92GB",
            "context_size": 8192,
            "gguf": V02_CONFIG["config"]["gguf"],
            "diff_id_count": 5,
            "layer_kinds": {
                "gguf": 1,
                "mmproj": 1,
                "chat_template": 1,
                "license": 1,
                "model_file": 1,
            },
            "weight_layers": 1,
            "files": [
                "model/llama-3.1-8b-q4_k_m.gguf",
                "mmproj.gguf",
                "template.jinja",
                "LICENSE",
                "config.json",
            ],
        },
    )


def test_docker_safetensors_format_from_layers() -> None:
    config = blob(
        {
            "config": {"parameters": "1.5B", "safetensors": {"dtype": "BF16"}},
            "descriptor": {},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
    )
    layers = [
        layer(AI + "safetensors", 2_000, **{FILEPATH: "model-00001-of-00002.safetensors"}),
        layer(AI + "safetensors", 1_000, **{FILEPATH: "model-00002-of-00002.safetensors"}),
        layer(AI + "model.file", 10, **{FILEPATH: "tokenizer.json"}),
    ]
    record = extract_record(manifest(V02, config, layers), config)
    assert record.model_format == "safetensors"
    assert record.parameter_count == 1_500_000_000
    assert record.extra["weight_layers"] == 2
    assert record.extra["safetensors"] == {"dtype": "BF16"}
    assert record.parse_errors == []


def test_docker_wrong_types() -> None:
    config = blob({"config": {"parameters": "lots", "context_size": "8k", "gguf": []}, "rootfs": 1})
    record = extract_record(manifest(V01, config, []), config)
    assert record.family == "docker-model"
    assert record.parameter_count is None
    assert record.parse_errors == [
        "config.config.parameters: not a parameter count: 'lots'",
        "config.config.context_size: expected integer",
        "config.config.gguf: expected object, got array",
        "config.rootfs: expected object, got number",
    ]
