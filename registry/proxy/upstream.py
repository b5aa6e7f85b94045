"""HTTP client of one upstream registry: pooled httpx (HTTP/1.1 and HTTP/2), timeouts,
authentication (see auth.py), retries of idempotent requests on connection failures, and the
mapping of upstream answers to `UpstreamNotFound` / `UpstreamUnavailable`."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx

from registry.config import UpstreamConfig
from registry.proxy.auth import Authenticator, AuthFailed

log = logging.getLogger("modelyard.proxy")

#: attempts of a GET or HEAD that fails to connect
ATTEMPTS = 3
RETRY_DELAY = 0.2
_RETRIED = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError)


class UpstreamError(Exception):
    def __init__(self, upstream: str, reason: str) -> None:
        super().__init__(f"upstream {upstream}: {reason}")
        self.upstream = upstream
        self.reason = reason


class UpstreamNotFound(UpstreamError):
    """The upstream answered that the object does not exist (or refused the name)."""


class UpstreamUnavailable(UpstreamError):
    """The upstream is down, timed out, throttled (429), failed (5xx) or refused our
    credentials: serve from cache when possible."""


def _verify(config: UpstreamConfig) -> bool | ssl.SSLContext:
    if config.insecure:
        return False
    if config.cafile:
        return ssl.create_default_context(cafile=config.cafile)
    return True


class UpstreamClient:
    def __init__(self, config: UpstreamConfig) -> None:
        self.config = config
        self.name = config.name
        self.client = httpx.AsyncClient(
            base_url=config.url.rstrip("/"),
            http2=config.http2,
            verify=_verify(config),
            timeout=httpx.Timeout(float(config.timeout)),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            follow_redirects=True,
        )
        self.auth = Authenticator(config, self.client)

    async def close(self) -> None:
        await self.client.aclose()

    async def _send_once(
        self, method: str, path: str, scope: str, headers: Mapping[str, str]
    ) -> httpx.Response:
        request = self.client.build_request(
            method, path, headers={**headers, **self.auth.headers(scope)}
        )
        response = await self.client.send(request, stream=True)
        if response.status_code != 401:
            return response
        challenge = response.headers.get("www-authenticate")
        await response.aclose()
        try:
            answer = await self.auth.answer(challenge, scope)
        except AuthFailed as exc:
            raise UpstreamUnavailable(self.name, str(exc)) from None
        if answer is None:
            raise UpstreamUnavailable(self.name, f"{method} {path}: authentication refused")
        request = self.client.build_request(method, path, headers={**headers, **answer})
        return await self.client.send(request, stream=True)

    async def _send(
        self, method: str, path: str, scope: str, headers: Mapping[str, str]
    ) -> httpx.Response:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await self._send_once(method, path, scope, headers)
            except _RETRIED as exc:
                if attempt == ATTEMPTS:
                    raise UpstreamUnavailable(
                        self.name, f"{method} {path}: {type(exc).__name__}: {exc}"
                    ) from None
                await asyncio.sleep(RETRY_DELAY * attempt)
            except httpx.HTTPError as exc:
                raise UpstreamUnavailable(
                    self.name, f"{method} {path}: {type(exc).__name__}: {exc}"
                ) from None
        raise AssertionError("unreachable")

    def _check(self, method: str, path: str, response: httpx.Response) -> None:
        status = response.status_code
        if status < 300:
            return
        reason = f"{method} {path} answered {status}"
        if status == 429 or status >= 500 or status in (401, 403):
            raise UpstreamUnavailable(self.name, reason)
        raise UpstreamNotFound(self.name, reason)

    @asynccontextmanager
    async def stream(
        self, method: str, path: str, scope: str, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[httpx.Response]:
        """A successful response whose body is read by the caller."""
        response = await self._send(method, path, scope, headers or {})
        try:
            self._check(method, path, response)
            yield response
        finally:
            await response.aclose()

    async def fetch(
        self,
        method: str,
        path: str,
        scope: str,
        headers: Mapping[str, str] | None = None,
        limit: int = 4 << 20,
    ) -> tuple[httpx.Response, bytes]:
        """A successful response and its body, at most `limit` bytes."""
        async with self.stream(method, path, scope, headers) as response:
            body = bytearray()
            try:
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise UpstreamUnavailable(
                            self.name, f"{method} {path}: body larger than {limit} bytes"
                        )
            except httpx.HTTPError as exc:
                raise UpstreamUnavailable(
                    self.name, f"{method} {path}: {type(exc).__name__}: {exc}"
                ) from None
            return response, bytes(body)
