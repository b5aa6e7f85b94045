"""A small real upstream registry (Starlette, served by uvicorn on a loopback port in a thread)
that demands one kind of credentials: the Docker token flow, basic auth, a static bearer
token, or none. It serves the blobs and manifests put in `content` and counts every request,
so upstream-client tests see exactly what went over the wire."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.s3server import free_port

USERNAME = "robot"
PASSWORD = "s3cret"
STATIC_TOKEN = "static-token"


@dataclass
class AuthUpstream:
    """Settings and observations of the server; change them between requests."""

    mode: str = "token"  # token | basic | static | anonymous
    token_lifetime: int = 300
    #: answer every registry request with this status instead (429, 503...)
    status: int | None = None
    content: dict[str, bytes] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    token_scopes: list[str] = field(default_factory=list)
    issued: set[str] = field(default_factory=set)
    url: str = ""

    def put(self, path: str, data: bytes) -> str:
        """Serve `data` at `path` (e.g. /v2/x/blobs/<digest>); returns its digest."""
        self.content[path] = data
        return "sha256:" + hashlib.sha256(data).hexdigest()

    def _basic_ok(self, header: str) -> bool:
        expected = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        return header == f"Basic {expected}"

    def _authorized(self, header: str) -> bool:
        if self.mode == "anonymous":
            return True
        if self.mode == "basic":
            return self._basic_ok(header)
        if self.mode == "static":
            return header == f"Bearer {STATIC_TOKEN}"
        return header.startswith("Bearer ") and header[7:] in self.issued

    def _challenge(self, scope: str) -> str:
        if self.mode == "basic":
            return 'Basic realm="upstream"'
        if self.mode == "static":
            return 'Bearer realm="upstream"'
        return f'Bearer realm="{self.url}/token",service="upstream",scope="{scope}"'

    async def token(self, request: Request) -> Response:
        self.requests["token"] += 1
        if not self._basic_ok(request.headers.get("authorization", "")):
            return JSONResponse({"errors": [{"code": "UNAUTHORIZED"}]}, status_code=401)
        self.token_scopes.append(request.query_params.get("scope", ""))
        token = f"token-{len(self.issued)}"
        self.issued.add(token)
        return JSONResponse({"token": token, "expires_in": self.token_lifetime})

    async def registry(self, request: Request) -> Response:
        path = request.url.path
        self.requests[f"{request.method} {path}"] += 1
        if self.status is not None:
            return Response(status_code=self.status)
        name = path.removeprefix("/v2/").rsplit("/", 2)[0]
        if not self._authorized(request.headers.get("authorization", "")):
            challenge = self._challenge(f"repository:{name}:pull")
            return Response(status_code=401, headers={"WWW-Authenticate": challenge})
        data = self.content.get(path)
        if data is None:
            return JSONResponse({"errors": [{"code": "BLOB_UNKNOWN"}]}, status_code=404)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        headers = {"Docker-Content-Digest": digest, "Content-Length": str(len(data))}
        body = b"" if request.method == "HEAD" else data
        return Response(body, headers=headers, media_type="application/octet-stream")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/token", self.token, methods=["GET"]),
                Route("/v2/{rest:path}", self.registry, methods=["GET", "HEAD"]),
            ]
        )


@contextmanager
def auth_upstream(mode: str = "token") -> Iterator[AuthUpstream]:
    upstream = AuthUpstream(mode=mode)
    port = free_port()
    upstream.url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(
        uvicorn.Config(upstream.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test upstream did not start")
        time.sleep(0.01)
    try:
        yield upstream
    finally:
        server.should_exit = True
        thread.join(timeout=30)
