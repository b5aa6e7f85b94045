"""Build the storage driver named by the configuration."""

from __future__ import annotations

from registry.config import ConfigError, StorageConfig
from storage.driver import StorageDriver
from storage.filesystem import FilesystemDriver
from storage.inmemory import InMemoryDriver


def create_driver(config: StorageConfig) -> StorageDriver:
    if config.driver == "filesystem":
        return FilesystemDriver(config.filesystem.rootdirectory, config.filesystem.inlinemetadata)
    if config.driver == "inmemory":
        return InMemoryDriver()
    if config.driver == "s3":
        from storage.s3 import S3Driver  # boto3 costs a filesystem server 24 MiB of RSS

        return S3Driver(config.s3)
    raise ConfigError(f"storage.driver: the {config.driver!r} driver is not available")
