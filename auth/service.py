"""The authentication service of one instance: logins, permissions, tokens, bootstrap.

Built once in the app's lifespan from the configuration and the database pool. Everything
that is looked up per request is cached briefly in process (`auth.cachettl` seconds):
verified tokens until they expire, verified passwords, role sets and the public namespaces.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from pathlib import Path
from typing import Any

from anyio import to_thread

from auth import store
from auth.cache import TtlCache
from auth.htpasswd import Htpasswd
from auth.identity import ANONYMOUS, Identity
from auth.keys import (
    SigningKey,
    generate,
    private_key_from_pem,
    public_key_from_pem,
    read_pem,
)
from auth.passwords import MAX_PASSWORD_BYTES, hash_password, new_secret, verify_password
from auth.ratelimit import LoginLimiter
from auth.rbac import REPOSITORY_ACTIONS, Permissions, expand
from auth.scope import Scope
from auth.tokens import Claims, TokenService, TrustedIssuer
from registry.config import AuthConfig
from registry.reference import is_valid_name

log = logging.getLogger("modelyard.auth")

TOKEN_CACHE_SECONDS = 60.0
EVERYTHING = Permissions(everything=True)


class LoginFailed(Exception):
    """Unknown user or wrong password (the two are never told apart)."""


async def _signing_key(config: AuthConfig, pool: Any) -> SigningKey:
    if config.token.privatekey:
        return private_key_from_pem(read_pem(config.token.privatekey))
    offered = generate(config.token.algorithm)
    _, pem = await store.shared_signing_key(pool, offered.kid, offered.algorithm, offered.pem())
    return private_key_from_pem(pem.encode())


def _trusted(config: AuthConfig) -> list[TrustedIssuer]:
    external = config.external
    if not external.issuer:
        return []
    key = public_key_from_pem(read_pem(external.publickey))
    return [TrustedIssuer(external.issuer, external.service, (key,))]


class AuthService:
    def __init__(self, config: AuthConfig, pool: Any, tokens: TokenService) -> None:
        self.config = config
        self.pool = pool
        self.tokens = tokens
        self.htpasswd = Htpasswd(Path(config.htpasswd)) if config.htpasswd else None
        self.limiter = LoginLimiter(pool, config.ratelimit.failures, config.ratelimit.window)
        ttl = float(config.cachettl)
        self._verified_tokens: TtlCache[str, Claims] = TtlCache(TOKEN_CACHE_SECONDS)
        self._logins: TtlCache[str, Identity] = TtlCache(ttl)
        self._permissions: TtlCache[tuple[str, str], Permissions] = TtlCache(ttl)
        self._public: TtlCache[str, frozenset[str]] = TtlCache(ttl)
        self._login_key = os.urandom(32)
        self._decoy = hash_password(new_secret()[:MAX_PASSWORD_BYTES], config.bcryptcost)

    @classmethod
    async def open(cls, config: AuthConfig, pool: Any) -> AuthService:
        signing = await _signing_key(config, pool)
        tokens = TokenService(
            signing,
            issuer=config.issuer,
            service=config.service,
            expiry=config.token.expiry,
            refresh_expiry=config.token.refreshexpiry,
            leeway=config.token.leeway,
            trusted=_trusted(config),
        )
        service = cls(config, pool, tokens)
        await service.bootstrap_admin()
        log.info("authentication on: service=%s token key kid=%s", config.service, signing.kid)
        return service

    async def bootstrap_admin(self) -> None:
        admin = self.config.admin
        if not admin.username:
            return
        hashed = await to_thread.run_sync(hash_password, admin.password, self.config.bcryptcost)
        if await store.ensure_admin(self.pool, admin.username, hashed):
            log.info("created administrator %s", admin.username)

    def forget(self) -> None:
        """Drop cached logins and roles after a change made through this instance."""
        self._logins.clear()
        self._permissions.clear()
        self._public.clear()

    # ----------------------------------------------------------------------- permissions

    async def public_namespaces(self) -> frozenset[str]:
        found = self._public.get("")
        if found is None:
            found = await store.public_namespaces(self.pool)
            self._public.put("", found)
        return found

    async def permissions(self, kind: str, name: str, admin: bool = False) -> Permissions:
        """What a user, robot, htpasswd user or anonymous caller may do (cached briefly)."""
        public = await self.public_namespaces()
        if admin or kind == "htpasswd":
            return EVERYTHING
        if kind == "anonymous":
            return Permissions(public=public)
        roles = self._permissions.get((kind, name))
        if roles is None:
            login = name if kind == "user" else store.ROBOT_PREFIX + name
            account = await store.account(self.pool, login)
            if account is None:
                roles = Permissions()
            elif account.admin:
                roles = EVERYTHING
            else:
                roles = Permissions(roles=await store.roles_of(self.pool, kind, name))
            self._permissions.put((kind, name), roles)
        return Permissions(roles.everything, roles.roles, public)

    async def permissions_of(self, identity: Identity) -> Permissions:
        """Permissions of any caller; a token's subject is looked up as the login it names."""
        if identity.permissions is not None:
            return identity.permissions
        if identity.issuer != self.tokens.issuer:
            return Permissions()
        subject = await self.identify_subject(identity.name)
        if subject is None or subject.permissions is None:
            return Permissions(public=await self.public_namespaces())
        return subject.permissions

    async def identify_subject(self, login: str) -> Identity | None:
        """The identity a login name stands for, without its password (token subjects,
        refresh tokens); None when no such user, robot or htpasswd entry exists."""
        if login == ANONYMOUS:
            return await self.anonymous()
        account = await store.account(self.pool, login)
        if account is not None:
            name = login.removeprefix(store.ROBOT_PREFIX) if account.kind == "robot" else login
            return Identity(login, account.kind, await self.permissions(account.kind, name))
        if self.htpasswd is not None and self.htpasswd.has(login):
            return Identity(login, "htpasswd", EVERYTHING)
        return None

    async def anonymous(self) -> Identity:
        return Identity(ANONYMOUS, "anonymous", await self.permissions("anonymous", ""))

    # ----------------------------------------------------------------------- logins

    def _login_cache_key(self, username: str, password: str) -> str:
        material = username.encode() + b"\x00" + password.encode()
        return hmac.new(self._login_key, material, hashlib.sha256).hexdigest()

    async def login(self, username: str, password: str, address: str) -> Identity:
        """Check a username and password (users, `robot$` robots, htpasswd), rate limited."""
        key = self._login_cache_key(username, password)
        cached = self._logins.get(key)
        if cached is not None:
            return cached
        await self.limiter.check(username, address)
        identity = await self._check_password(username, password)
        if identity is None:
            await self.limiter.failed(username, address)
            log.warning("login failed: user=%s client=%s", username, address)
            raise LoginFailed()
        self._logins.put(key, identity)
        return identity

    async def _check_password(self, username: str, password: str) -> Identity | None:
        account = await store.account(self.pool, username)
        if account is not None:
            ok = await to_thread.run_sync(verify_password, password, account.secret_hash)
            if not ok:
                return None
            name = username.removeprefix(store.ROBOT_PREFIX)
            permissions = await self.permissions(account.kind, name, account.admin)
            return Identity(username, account.kind, permissions)
        if self.htpasswd is not None and self.htpasswd.has(username):
            ok = await to_thread.run_sync(self.htpasswd.verify, username, password)
            return Identity(username, "htpasswd", EVERYTHING) if ok else None
        # unknown users cost a bcrypt check too, so timing does not tell them apart
        await to_thread.run_sync(verify_password, password, self._decoy)
        return None

    # ----------------------------------------------------------------------- tokens

    def verify_token(self, token: str) -> Identity:
        """The identity a bearer token carries; raises InvalidToken."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        claims = self._verified_tokens.get(digest)
        if claims is None:
            claims = self.tokens.verify(token)
            remaining = claims.expires - _now()
            self._verified_tokens.put(digest, claims, float(remaining))
        return Identity(claims.subject, "token", token_access=claims.access, issuer=claims.issuer)

    def grant(self, identity: Identity, requested: list[Scope]) -> list[Scope]:
        """The part of each requested scope the caller holds: the token's `access` list."""
        granted: list[Scope] = []
        for scope in requested:
            if scope.type == "repository" and is_valid_name(scope.name):
                allowed = identity.actions(scope.name)
                wanted = expand(scope.actions) & REPOSITORY_ACTIONS
                actions = wanted & allowed
                if "*" not in scope.actions:
                    actions -= {"*"}
                if actions:
                    granted.append(Scope(scope.type, scope.name, actions, scope.resource_class))
            elif scope.type == "registry" and scope.name == "catalog" and "*" in scope.actions:
                granted.append(Scope("registry", "catalog", frozenset({"*"})))
        return granted


def _now() -> int:
    return int(time.time())
