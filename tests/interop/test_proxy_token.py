"""Upstreams that want credentials: registry:2 with `auth: token:` and a Docker token server
written here (the flow Harbor and Docker Hub use), registry:2 with htpasswd basic auth, and a
static bearer token. Modelyard pulls through each with its configured credentials."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.interop import helpers
from tests.interop.helpers import OCI_MANIFEST, OciImage, layout_blob
from tests.interop.proxy_helpers import ProxyLab, fill_upstream, proxy_section
from tests.support.tokenserver import SERVICE, TokenServer, token_server

pytestmark = pytest.mark.interop

REPO = "library/app"
USER = "puller"
PASSWORD = "s3cret-pull"


@pytest.fixture
def tokens(tmp_path: Path) -> Iterator[TokenServer]:
    with token_server(tmp_path / "tokens", USER, PASSWORD) as server:
        yield server


def _pull(skopeo: str, netloc: str, tag: str, out: Path, work: Path) -> str:
    return helpers.skopeo_copy(
        skopeo, f"docker://{netloc}/{REPO}:{tag}", f"oci:{out}:{tag}", workdir=work
    )


def _refused(response: httpx.Response) -> None:
    """Upstream credentials were refused: an OCI error, neither content nor a server crash."""
    assert response.status_code != 200, "pulled without valid upstream credentials"
    assert response.status_code != 500, response.text
    assert response.json()["errors"][0]["code"], response.text


def test_registry2_with_token_auth_accepts_the_token_server(
    lab: ProxyLab, tokens: TokenServer, skopeo: str, oci_image: OciImage, tmp_path: Path
) -> None:
    """The test upstream itself: a real client gets through the token flow with credentials."""
    upstream = lab.upstream(auth=tokens.registry_auth())
    challenge = httpx.get(f"{upstream.url}/v2/")
    assert challenge.status_code == 401
    assert challenge.headers["WWW-Authenticate"].startswith(f'Bearer realm="{tokens.realm}"')
    assert f'service="{SERVICE}"' in challenge.headers["WWW-Authenticate"]
    creds = f"--dest-creds={USER}:{PASSWORD}"
    pushed = fill_upstream(skopeo, upstream, oci_image, REPO, "v1", tmp_path / "d", creds)
    assert pushed == oci_image.manifest_digest
    assert tokens.issued(authorized=True), "skopeo went through the token server"
    anonymous = httpx.get(f"{upstream.url}/v2/{REPO}/manifests/v1")
    assert anonymous.status_code == 401


def test_pull_through_an_upstream_behind_the_docker_token_flow(
    lab: ProxyLab, tokens: TokenServer, skopeo: str, oci_image: OciImage, tmp_path: Path
) -> None:
    upstream = lab.upstream(auth=tokens.registry_auth())
    creds = f"--dest-creds={USER}:{PASSWORD}"
    fill_upstream(skopeo, upstream, oci_image, REPO, "v1", tmp_path / "d", creds)
    fill_upstream(skopeo, upstream, oci_image, REPO, "v2", tmp_path / "d", creds)
    before = len(tokens.issued())
    cache = lab.modelyard(proxy_section(upstream.url, username=USER, password=PASSWORD))

    pulled = _pull(skopeo, cache.netloc, "v1", tmp_path / "out", tmp_path / "d")
    assert pulled == oci_image.manifest_digest
    for digest in [oci_image.config_digest, *oci_image.layer_digests]:
        assert layout_blob(tmp_path / "out", digest) == layout_blob(oci_image.path, digest)
    granted = tokens.issued()[before:]
    assert granted, "Modelyard must have asked the token server, with its basic credentials"
    assert all(request.account == USER for request in granted)
    assert any(f"repository:{REPO}:pull" in request.scopes for request in granted), granted
    assert not tokens.issued(authorized=False), "Modelyard sent no or wrong credentials"
    # one manifest and four blobs of one repository: the token is reused, not asked per request
    assert len(granted) <= 2, f"{len(granted)} tokens for one repository: {granted}"

    more = _pull(skopeo, cache.netloc, "v2", tmp_path / "out", tmp_path / "d")
    assert more == oci_image.manifest_digest
    assert len(tokens.issued()[before:]) <= 2, "the token is reused until it expires"


def test_a_new_token_is_asked_once_the_old_one_expired(
    lab: ProxyLab, skopeo: str, oci_image: OciImage, tmp_path: Path
) -> None:
    lifetime = 3
    with token_server(tmp_path / "short", USER, PASSWORD, lifetime=lifetime) as tokens:
        upstream = lab.upstream(auth=tokens.registry_auth())
        creds = f"--dest-creds={USER}:{PASSWORD}"
        for tag in ("v1", "v2"):
            fill_upstream(skopeo, upstream, oci_image, REPO, tag, tmp_path / "d", creds)
        cache = lab.modelyard(proxy_section(upstream.url, username=USER, password=PASSWORD))
        accept = {"Accept": OCI_MANIFEST}
        before = len(tokens.issued())
        first = httpx.get(f"{cache.url}/v2/{REPO}/manifests/v1", headers=accept, timeout=30)
        assert first.status_code == 200, first.text
        after_first = len(tokens.issued())
        assert after_first > before
        # registry:2 still takes an expired token for a minute (its leeway), so only the
        # client's own bookkeeping of expires_in makes it ask for a new one
        time.sleep(lifetime + 1)
        second = httpx.get(f"{cache.url}/v2/{REPO}/manifests/v2", headers=accept, timeout=30)
        assert second.status_code == 200, second.text
        assert len(tokens.issued()) > after_first, "the expired token was used again"


@pytest.mark.parametrize("password", ["", "wrong"])
def test_missing_or_wrong_credentials_for_a_token_upstream_are_an_error(
    password: str,
    lab: ProxyLab,
    tokens: TokenServer,
    skopeo: str,
    oci_image: OciImage,
    tmp_path: Path,
) -> None:
    upstream = lab.upstream(auth=tokens.registry_auth())
    creds = f"--dest-creds={USER}:{PASSWORD}"
    fill_upstream(skopeo, upstream, oci_image, REPO, "v1", tmp_path / "d", creds)
    username = USER if password else ""
    cache = lab.modelyard(proxy_section(upstream.url, username=username, password=password))
    with httpx.Client(base_url=cache.url, timeout=30) as client:
        _refused(client.get(f"/v2/{REPO}/manifests/v1", headers={"Accept": OCI_MANIFEST}))
        _refused(client.get(f"/v2/{REPO}/blobs/{oci_image.config_digest}"))


def test_pull_through_with_a_static_bearer_token(
    lab: ProxyLab, tokens: TokenServer, skopeo: str, oci_image: OciImage, tmp_path: Path
) -> None:
    upstream = lab.upstream(auth=tokens.registry_auth())
    creds = f"--dest-creds={USER}:{PASSWORD}"
    fill_upstream(skopeo, upstream, oci_image, REPO, "v1", tmp_path / "d", creds)
    token = tokens.issue("robot", [f"repository:{REPO}:pull"], lifetime=3600)
    before = len(tokens.requests)
    cache = lab.modelyard(proxy_section(upstream.url, token=token))
    pulled = _pull(skopeo, cache.netloc, "v1", tmp_path / "out", tmp_path / "d")
    assert pulled == oci_image.manifest_digest
    assert len(tokens.requests) == before, "a static token needs no token server"


def test_pull_through_an_upstream_with_basic_auth(
    lab: ProxyLab, skopeo: str, oci_image: OciImage, tmp_path: Path
) -> None:
    htpasswd = helpers.require_tool("htpasswd")
    line = helpers.run([htpasswd, "-Bbn", USER, PASSWORD]).stdout.strip()
    users = tmp_path / "htpasswd"
    users.write_text(line + "\n")
    upstream = lab.upstream(auth={"htpasswd": {"realm": "upstream", "path": str(users)}})
    creds = f"--dest-creds={USER}:{PASSWORD}"
    fill_upstream(skopeo, upstream, oci_image, REPO, "v1", tmp_path / "d", creds)

    cache = lab.modelyard(proxy_section(upstream.url, username=USER, password=PASSWORD))
    pulled = _pull(skopeo, cache.netloc, "v1", tmp_path / "out", tmp_path / "d")
    assert pulled == oci_image.manifest_digest
    anonymous = lab.modelyard(proxy_section(upstream.url), name="anonymous")
    _refused(httpx.get(f"{anonymous.url}/v2/{REPO}/manifests/v1", headers={"Accept": OCI_MANIFEST}))
