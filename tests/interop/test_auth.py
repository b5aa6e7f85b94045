"""Real clients against a real `modelyard serve` process with authentication on.

podman (login, push, pull), skopeo (`--creds`), oras-py (login then push and pull) and raw
HTTP through the token endpoint: a reader cannot push, a developer cannot delete, a user of
one namespace cannot read another (by tag, by digest, by cross-mount, in the catalog, through
referrers), anonymous callers pull public namespaces, registry:2 style htpasswd basic auth
works with skopeo, and failed logins end in 429.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import oras.client
import pytest

from tests.interop import helpers
from tests.interop.helpers import OciImage, ServerProcess, require_tool, run, skopeo_copy
from tests.interop.test_podman import Podman
from tests.support.postgres import drop_schema, new_schema

pytestmark = pytest.mark.interop

ADMIN = ("root", "root-password")
PASSWORD = "password-123"
USERS = {"dave": ("team", "developer"), "rita": ("team", "reader"), "bob": ("other", "developer")}


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def schema(database_url: str) -> Iterator[str]:
    name = anyio.run(new_schema, database_url)
    yield name
    anyio.run(drop_schema, database_url, name)


def start(tmp_path: Path, database_url: str, schema: str, **auth: Any) -> Iterator[ServerProcess]:
    settings = {
        "enabled": True,
        "bcryptcost": 4,
        "admin": {"username": ADMIN[0], "password": ADMIN[1]},
        **auth,
    }
    server = helpers.start_modelyard(
        tmp_path / "root",
        tmp_path / "servers",
        database={"url": database_url, "schema": schema},
        sections={"auth": settings},
    )
    try:
        yield server
    finally:
        server.stop()
        server.check_log()


@pytest.fixture
def secured(tmp_path: Path, database_url: str, schema: str) -> Iterator[ServerProcess]:
    """A server with users dave (team developer), rita (team reader), bob (other developer)
    and the public namespace `open`."""
    for server in start(tmp_path, database_url, schema, ratelimit={"failures": 4}):
        with httpx.Client(base_url=server.url, auth=ADMIN) as admin:
            for namespace, public in (("team", False), ("other", False), ("open", True)):
                response = admin.post(
                    "/api/v1/namespaces", json={"name": namespace, "public": public}
                )
                assert response.status_code == 201, response.text
            for user, (namespace, role) in USERS.items():
                created = admin.post("/api/v1/users", json={"username": user, "password": PASSWORD})
                assert created.status_code == 201, created.text
                member = admin.put(
                    f"/api/v1/namespaces/{namespace}/members/user/{user}", json={"role": role}
                )
                assert member.status_code == 200, member.text
        yield server


def token(server: ServerProcess, user: str | None, *scopes: str) -> dict[str, str]:
    """Authorization header with a token from the server's token endpoint."""
    auth = (user, PASSWORD) if user else None
    response = httpx.get(
        f"{server.url}/token",
        params=[("service", "modelyard"), *(("scope", s) for s in scopes)],
        auth=auth,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def podman_client(podman: str, tmp_path: Path, secured: ServerProcess) -> Iterator[Podman]:
    runroot = Path(tempfile.mkdtemp(prefix="my-podrun-", dir="/tmp"))
    try:
        yield Podman(podman, tmp_path / "podman", runroot, secured.netloc)
    finally:
        shutil.rmtree(runroot, ignore_errors=True)


def test_podman_login_push_pull_and_roles(
    podman_client: Podman, secured: ServerProcess, oci_image: OciImage, tmp_path: Path
) -> None:
    podman = podman_client
    authfile = tmp_path / "auth.json"
    image_id = "sha256:" + podman("pull", "--quiet", oci_image.ref).strip()
    remote = f"{secured.netloc}/team/app:v1"
    podman("tag", image_id, remote)
    anonymous = podman("push", "--tls-verify=false", "--authfile", authfile, remote, check=False)
    assert "unauthorized" in anonymous.lower() or anonymous == ""
    wrong = run(
        [
            *podman.base,
            "login",
            "--tls-verify=false",
            "--authfile",
            authfile,
            "-u",
            "dave",
            "-p",
            "not-the-password",
            secured.netloc,
        ],
        env=podman.env,
        check=False,
    )
    assert wrong.returncode != 0
    podman(
        "login",
        "--tls-verify=false",
        "--authfile",
        authfile,
        "-u",
        "dave",
        "-p",
        PASSWORD,
        secured.netloc,
    )
    podman("push", "--tls-verify=false", "--authfile", authfile, remote)
    assert "team/app" in httpx.get(f"{secured.url}/v2/_catalog", auth=ADMIN).text

    podman("rmi", "--all", "--force")
    podman("pull", "--authfile", authfile, remote)
    assert "sha256:" + podman.inspect(remote)["Id"] == oci_image.config_digest  # type: ignore[operator]

    # rita reads team but cannot push to it
    podman("logout", "--authfile", authfile, secured.netloc)
    podman(
        "login",
        "--tls-verify=false",
        "--authfile",
        authfile,
        "-u",
        "rita",
        "-p",
        PASSWORD,
        secured.netloc,
    )
    podman("rmi", "--all", "--force")
    podman("pull", "--authfile", authfile, remote)
    podman("tag", remote, f"{secured.netloc}/team/app:rita")
    refused = run(
        [
            *podman.base,
            "push",
            "--tls-verify=false",
            "--authfile",
            authfile,
            f"{secured.netloc}/team/app:rita",
        ],
        env=podman.env,
        check=False,
    )
    assert refused.returncode != 0
    assert "unauthorized" in refused.stderr.lower() or "denied" in refused.stderr.lower()
    assert "rita" not in httpx.get(f"{secured.url}/v2/team/app/tags/list", auth=ADMIN).text


def test_skopeo_with_creds_and_namespace_isolation(
    skopeo: str, secured: ServerProcess, oci_image: OciImage, tmp_path: Path
) -> None:
    dest = f"docker://{secured.netloc}/team/model:v1"
    refused = run(
        [
            skopeo,
            "--insecure-policy",
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            f"rita:{PASSWORD}",
            oci_image.ref,
            dest,
        ],
        check=False,
    )
    assert refused.returncode != 0
    digest = skopeo_copy(
        skopeo, oci_image.ref, dest, "--dest-creds", f"dave:{PASSWORD}", workdir=tmp_path / "d"
    )
    inspect = [skopeo, "inspect", "--tls-verify=false", "--raw"]
    raw = run([*inspect, "--creds", f"rita:{PASSWORD}", dest]).stdout.encode()
    assert _sha256(raw) == digest
    by_digest = f"docker://{secured.netloc}/team/model@{digest}"
    for ref in (dest, by_digest):
        other = run([*inspect, "--creds", f"bob:{PASSWORD}", ref], check=False)
        assert other.returncode != 0, other.stdout
        anonymous = run([*inspect, ref], check=False)
        assert anonymous.returncode != 0
    tags = run(
        [
            skopeo,
            "list-tags",
            "--tls-verify=false",
            "--creds",
            f"bob:{PASSWORD}",
            f"docker://{secured.netloc}/team/model",
        ],
        check=False,
    )
    assert tags.returncode != 0
    # a developer cannot delete; the admin can
    delete = [skopeo, "delete", "--tls-verify=false"]
    denied = run([*delete, "--creds", f"dave:{PASSWORD}", by_digest], check=False)
    assert denied.returncode != 0
    run([*delete, "--creds", ":".join(ADMIN), by_digest])


def test_http_clients_through_the_token_endpoint(
    secured: ServerProcess, oci_image: OciImage, tmp_path: Path, skopeo: str
) -> None:
    skopeo_copy(
        skopeo,
        oci_image.ref,
        f"docker://{secured.netloc}/team/model:v1",
        "--dest-creds",
        f"dave:{PASSWORD}",
        workdir=tmp_path / "d",
    )
    skopeo_copy(
        skopeo,
        oci_image.ref,
        f"docker://{secured.netloc}/open/shared:v1",
        "--dest-creds",
        ":".join(ADMIN),
        workdir=tmp_path / "o",
    )
    url = secured.url
    manifest = httpx.get(f"{url}/v2/team/model/manifests/v1", auth=ADMIN).json()
    layer = manifest["layers"][0]["digest"]
    subject = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": oci_image.manifest_digest,
        "size": len(httpx.get(f"{url}/v2/team/model/manifests/v1", auth=ADMIN).content),
    }
    empty = httpx.post(
        f"{url}/v2/team/model/blobs/uploads/",
        params={"digest": _sha256(b"{}")},
        content=b"{}",
        auth=ADMIN,
    )
    assert empty.status_code == 201
    referrer = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.example.signature",
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": _sha256(b"{}"),
            "size": 2,
        },
        "layers": [
            {"mediaType": "application/vnd.oci.empty.v1+json", "digest": _sha256(b"{}"), "size": 2}
        ],
        "subject": subject,
    }
    put = httpx.put(
        f"{url}/v2/team/model/manifests/sig",
        content=json.dumps(referrer).encode(),
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        auth=ADMIN,
    )
    assert put.status_code == 201, put.text

    bob = token(
        secured,
        "bob",
        "repository:team/model:pull",
        "repository:other/copy:pull,push",
        "registry:catalog:*",
    )
    for path in (
        "/v2/team/model/manifests/v1",
        f"/v2/team/model/manifests/{oci_image.manifest_digest}",
        f"/v2/team/model/blobs/{layer}",
        "/v2/team/model/tags/list",
        f"/v2/team/model/referrers/{oci_image.manifest_digest}",
    ):
        response = httpx.get(url + path, headers=bob)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["errors"][0]["code"] == "DENIED"
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    mount = httpx.post(
        f"{url}/v2/other/copy/blobs/uploads/",
        params={"mount": layer, "from": "team/model"},
        headers=bob,
    )
    assert mount.status_code == 202, "no pull on the source: a normal upload starts"
    assert httpx.head(f"{url}/v2/other/copy/blobs/{layer}", headers=bob).status_code == 404
    assert httpx.get(f"{url}/v2/_catalog", headers=bob).json() == {"repositories": ["open/shared"]}
    rita = token(secured, "rita", "registry:catalog:*", "repository:team/model:pull")
    assert httpx.get(f"{url}/v2/_catalog", headers=rita).json() == {
        "repositories": ["open/shared", "team/model"]
    }
    referrers = httpx.get(
        f"{url}/v2/team/model/referrers/{oci_image.manifest_digest}", headers=rita
    )
    assert [m["artifactType"] for m in referrers.json()["manifests"]] == [
        "application/vnd.example.signature"
    ]
    # anonymous callers pull the public namespace, directly or with an anonymous token
    assert httpx.get(f"{url}/v2/open/shared/manifests/v1").status_code == 200
    anonymous = token(secured, None, "repository:open/shared:pull,push")
    assert httpx.get(f"{url}/v2/open/shared/manifests/v1", headers=anonymous).status_code == 200
    assert httpx.post(f"{url}/v2/open/shared/blobs/uploads/", headers=anonymous).status_code == 401
    run([skopeo, "inspect", "--tls-verify=false", f"docker://{secured.netloc}/open/shared:v1"])


def test_oras_with_credentials(secured: ServerProcess, tmp_path: Path) -> None:
    weights = tmp_path / "model.bin"
    weights.write_bytes(b"weights " * 1000)
    dave = oras.client.OrasClient(hostname=secured.netloc, insecure=True)
    dave.login("dave", PASSWORD, hostname=secured.netloc, config_path=str(tmp_path / "cfg.json"))
    target = f"{secured.netloc}/team/oras-model:v1"
    response = dave.push(target=target, files=[str(weights)], disable_path_validation=True)
    assert response.status_code == 201, response.text
    rita = oras.client.OrasClient(hostname=secured.netloc, insecure=True)
    rita.login("rita", PASSWORD, hostname=secured.netloc, config_path=str(tmp_path / "r.json"))
    pulled = rita.pull(target=target, outdir=str(tmp_path / "out"))
    assert Path(pulled[0]).read_bytes() == weights.read_bytes()
    with pytest.raises(ValueError, match=r"DENIED|Forbidden"):
        rita.push(
            target=f"{secured.netloc}/team/oras-model:rita",
            files=[str(weights)],
            disable_path_validation=True,
        )
    bob = oras.client.OrasClient(hostname=secured.netloc, insecure=True)
    bob.login("bob", PASSWORD, hostname=secured.netloc, config_path=str(tmp_path / "b.json"))
    with pytest.raises(ValueError, match=r"DENIED|Forbidden"):
        bob.pull(target=target, outdir=str(tmp_path / "bob"))


def test_failed_logins_end_in_429(secured: ServerProcess) -> None:
    statuses = [
        httpx.get(f"{secured.url}/v2/", auth=("dave", f"guess-{n}")).status_code for n in range(4)
    ]
    assert statuses == [401] * 4
    limited = httpx.get(f"{secured.url}/v2/", auth=("dave", PASSWORD))
    assert limited.status_code == 429
    assert limited.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert int(limited.headers["Retry-After"]) >= 1
    assert "guess-" not in secured.log()
    assert PASSWORD not in secured.log()


def test_htpasswd_basic_auth_with_skopeo(
    skopeo: str, tmp_path: Path, database_url: str, schema: str, oci_image: OciImage
) -> None:
    htpasswd = require_tool("htpasswd")
    users = tmp_path / "htpasswd"
    run([htpasswd, "-B", "-b", "-c", users, "ci", "ci-secret-1"])
    for server in start(
        tmp_path, database_url, schema, htpasswd=str(users), challenge="basic", admin={}
    ):
        challenge = httpx.get(f"{server.url}/v2/")
        assert challenge.headers["www-authenticate"] == 'Basic realm="modelyard"'
        dest = f"docker://{server.netloc}/any/image:v1"
        wrong = run(
            [
                skopeo,
                "--insecure-policy",
                "copy",
                "--dest-tls-verify=false",
                "--dest-creds",
                "ci:wrong",
                oci_image.ref,
                dest,
            ],
            check=False,
        )
        assert wrong.returncode != 0
        digest = skopeo_copy(
            skopeo, oci_image.ref, dest, "--dest-creds", "ci:ci-secret-1", workdir=tmp_path / "s"
        )
        raw = run(
            [skopeo, "inspect", "--tls-verify=false", "--raw", "--creds", "ci:ci-secret-1", dest]
        ).stdout.encode()
        assert _sha256(raw) == digest
        assert httpx.get(f"{server.url}/v2/any/image/tags/list").status_code == 401
