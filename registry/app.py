"""The application factory: one configuration, one storage, one set of metrics."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from auth.middleware import AuthMiddleware
from auth.service import AuthService
from registry import config as config_module
from registry.config import Config
from registry.downloads import DownloadSlots
from registry.errors import http_exception_response
from registry.index.db import Database
from registry.index.delivery import DeliveryWorker
from registry.index.events import Source
from registry.index.indexer import ModelIndex
from registry.index.usage import UsageRecorder
from registry.metrics import Metrics
from registry.middleware import RequestMiddleware
from registry.proxy.metrics import ProxyMetrics
from registry.proxy.service import ProxyService
from registry.referrers import Referrers
from registry.routes import ROUTES
from storage.driver import StorageDriver
from storage.factory import create_driver
from storage.layout import RegistryStore


def create_app(config: Config | None = None, driver: StorageDriver | None = None) -> Starlette:
    config = config or config_module.load()
    driver = driver or create_driver(config.storage)
    metrics = Metrics()
    store = RegistryStore(driver)
    proxy_metrics = ProxyMetrics(metrics.registry)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        database = await Database.open(config) if config.database.enabled else None
        source = Source.current() if config.events.enabled else None
        app.state.index = ModelIndex(database, store, source) if database else None
        usage = UsageRecorder(database) if database else None
        app.state.usage = usage
        if usage is not None:
            usage.start()
        worker = None
        if database is not None and source is not None:
            worker = DeliveryWorker(database, config.events, source.instance_id, metrics)
            worker.start()
        app.state.delivery = worker
        if config.auth.enabled and database is not None:
            app.state.auth = await AuthService.open(config.auth, database.pool)
        proxy = None
        if config.proxy.upstreams:
            proxy = ProxyService(config, store, proxy_metrics, database, app.state.index)
            await proxy.start()
        app.state.proxy = proxy
        try:
            yield
        finally:
            app.state.auth = None
            app.state.index = None
            app.state.usage = None
            app.state.delivery = None
            if worker is not None:
                await worker.close()
            app.state.proxy = None
            if proxy is not None:
                await proxy.close()
            if usage is not None:
                await usage.close()
            if database is not None:
                await database.close()
            await driver.close()

    app = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_exception_response},
        middleware=[
            Middleware(RequestMiddleware, metrics=metrics, access=config.log.access),
            Middleware(AuthMiddleware, routes=ROUTES, enabled=config.auth.enabled),
        ],
    )
    app.state.config = config
    app.state.store = store
    app.state.metrics = metrics
    app.state.referrers = Referrers(store)
    app.state.downloads = DownloadSlots(config.http.buffered_downloads)
    app.state.index = None
    app.state.usage = None
    app.state.delivery = None
    app.state.auth = None
    app.state.proxy = None
    return app


def app_from_environment() -> Starlette:
    """Factory for servers that import the app by name: configuration from `MODELYARD_CONFIG`
    (a YAML file) and the `MODELYARD_*` variables."""
    return create_app(config_module.load(os.environ.get("MODELYARD_CONFIG") or None))
