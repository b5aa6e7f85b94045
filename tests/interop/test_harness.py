"""The interop harness itself: a missing tool fails loudly, the image layout is valid."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from tests.interop.helpers import build_oci_layout, layout_blob, read_oci_layout, require_tool

pytestmark = pytest.mark.interop


def test_missing_tool_fails_instead_of_skipping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(pytest.fail.Exception, match=r"skopeo.*not installed.*refusing to skip"):
        require_tool("skopeo")


def test_generated_layout_is_consistent_and_deterministic(tmp_path: Path) -> None:
    first = build_oci_layout(tmp_path / "a", layers=3, seed=5)
    again = build_oci_layout(tmp_path / "b", layers=3, seed=5)
    other = build_oci_layout(tmp_path / "c", layers=3, seed=6)
    assert first.manifest_digest == again.manifest_digest
    assert other.manifest_digest != first.manifest_digest
    digest, manifest = read_oci_layout(first.path, "v1")
    assert digest == first.manifest_digest
    config = json.loads(layout_blob(first.path, first.config_digest))
    assert config["rootfs"]["diff_ids"] == first.diff_ids
    assert len(set(first.layer_digests)) == 3
    for layer, diff_id in zip(first.layer_digests, first.diff_ids, strict=True):
        tar = gzip.decompress(layout_blob(first.path, layer))
        assert "sha256:" + hashlib.sha256(tar).hexdigest() == diff_id
    assert manifest["config"]["digest"] == first.config_digest  # type: ignore[index]
