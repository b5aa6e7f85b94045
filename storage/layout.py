"""The registry layout over one driver: blobs, uploads, manifests and tags together."""

from __future__ import annotations

from storage.blobs import BlobStore
from storage.driver import StorageDriver
from storage.manifests import ManifestStore
from storage.tags import TagStore
from storage.uploads import UploadStore


class RegistryStore:
    def __init__(self, driver: StorageDriver) -> None:
        self.driver = driver
        self.blobs = BlobStore(driver)
        self.uploads = UploadStore(driver, self.blobs)
        self.manifests = ManifestStore(driver, self.blobs)
        self.tags = TagStore(driver, self.blobs)
