"""Typed errors raised by storage drivers; no backend exception ever escapes a driver."""


class StorageError(Exception):
    """Base class of every storage failure."""

    def __init__(self, path: str, message: str = "") -> None:
        super().__init__(f"{message or self.__class__.__name__}: {path}")
        self.path = path


class PathNotFound(StorageError):
    """Nothing is stored at the path."""


class InvalidPath(StorageError):
    """The path is not a clean absolute storage path."""


class InvalidOffset(StorageError):
    """A read or append started past the end of the stored object."""


class BackendError(StorageError):
    """The backend failed for a reason that is not the caller's fault."""


class RegistryStorageError(Exception):
    """Base class of errors of the registry layout built on top of a driver."""

    def __init__(self, subject: object, message: str = "") -> None:
        super().__init__(message or f"{self.__class__.__name__}: {subject}")
        self.subject = subject


class BlobUnknown(RegistryStorageError):
    """The blob is not stored, or not linked into the repository."""


class ManifestUnknown(RegistryStorageError):
    """No manifest under that tag or digest in the repository."""


class RepositoryUnknown(RegistryStorageError):
    """The repository does not exist."""


class UploadUnknown(RegistryStorageError):
    """No upload session with that id in the repository."""


class DigestMismatch(RegistryStorageError):
    """The bytes received do not hash to the digest the client gave."""


class UploadOffsetMismatch(RegistryStorageError):
    """A chunk did not start where the upload ends."""

    def __init__(self, subject: object, size: int) -> None:
        super().__init__(subject, f"chunk does not start at offset {size}")
        self.size = size


class SizeMismatch(RegistryStorageError):
    """The number of bytes received differs from the length the client announced."""
