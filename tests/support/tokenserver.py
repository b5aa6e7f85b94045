"""A Docker token server for registry:2's `auth: token:`, as Harbor and Docker Hub run one.

`GET /token?service=S&scope=repository:NAME:pull,push` with HTTP basic credentials answers
`{"token", "access_token", "expires_in", "issued_at"}`: an ES256 JWT whose `x5c` header carries
the server's self-signed certificate. registry:2 trusts it through `rootcertbundle` (that
certificate, in `cert_path`), checks `iss`, `aud` (the service), `exp`/`nbf` and grants what
the `access` claim lists. Wrong or missing credentials get a 401; every request is recorded.
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ISSUER = "modelyard-test-token-issuer"
SERVICE = "modelyard-test-upstream"


@dataclass(frozen=True)
class TokenRequest:
    account: str  # "" when no credentials came
    authorized: bool
    scopes: tuple[str, ...]


def _self_signed(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def parse_scope(scope: str) -> dict[str, Any] | None:
    """`repository:library/app:pull,push` -> a registry:2 access entry (None if malformed)."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name or not actions:
        return None
    return {"type": kind, "name": name, "actions": actions.split(",")}


class TokenServer:
    def __init__(self, folder: Path, username: str, password: str, lifetime: int = 300) -> None:
        self.username = username
        self.password = password
        self.lifetime = lifetime
        self.requests: list[TokenRequest] = []
        self._lock = threading.Lock()
        self._key = ec.generate_private_key(ec.SECP256R1())
        certificate = _self_signed(self._key)
        self._x5c = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER))
        folder.mkdir(parents=True, exist_ok=True)
        self.cert_path = folder / "token-root.pem"
        self.cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def registry_auth(self) -> dict[str, Any]:
        """The `auth:` section of a registry:2 that trusts this server."""
        return {
            "token": {
                "realm": self.realm,
                "service": SERVICE,
                "issuer": ISSUER,
                "rootcertbundle": str(self.cert_path),
            }
        }

    def issue(self, account: str, scopes: list[str], lifetime: int | None = None) -> str:
        now = int(time.time())
        access = [entry for entry in map(parse_scope, scopes) if entry is not None]
        claims = {
            "iss": ISSUER,
            "sub": account,
            "aud": SERVICE,
            "exp": now + (lifetime or self.lifetime),
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return jwt.encode(
            claims, pem, algorithm="ES256", headers={"typ": "JWT", "x5c": [self._x5c.decode()]}
        )

    def issued(self, authorized: bool = True) -> list[TokenRequest]:
        with self._lock:
            return [r for r in self.requests if r.authorized == authorized]

    def _check(self, header: str | None) -> tuple[str, bool]:
        if not header or not header.lower().startswith("basic "):
            return "", False
        try:
            decoded = base64.b64decode(header.split(" ", 1)[1]).decode()
        except ValueError:
            return "", False
        account, _, password = decoded.partition(":")
        return account, account == self.username and password == self.password

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        tokens = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 401:
                    self.send_header("WWW-Authenticate", f'Basic realm="{tokens.realm}"')
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                split = urlsplit(self.path)
                query = parse_qs(split.query)
                scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
                account, authorized = tokens._check(self.headers.get("Authorization"))
                with tokens._lock:
                    tokens.requests.append(TokenRequest(account, authorized, tuple(scopes)))
                if split.path != "/token":
                    self._send(404, {"details": "not found"})
                    return
                if query.get("service", [SERVICE])[0] != SERVICE:
                    self._send(400, {"details": "unknown service"})
                    return
                if not authorized:
                    self._send(401, {"details": "authentication required"})
                    return
                token = tokens.issue(account, scopes)
                issued_at = datetime.datetime.now(datetime.UTC).isoformat()
                self._send(
                    200,
                    {
                        "token": token,
                        "access_token": token,
                        "expires_in": tokens.lifetime,
                        "issued_at": issued_at,
                    },
                )

        return Handler


@contextmanager
def token_server(
    folder: Path, username: str, password: str, lifetime: int = 300
) -> Iterator[TokenServer]:
    server = TokenServer(folder, username, password, lifetime)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
