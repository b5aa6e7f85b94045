"""S3 driver: the registry:2 layout in a bucket, on boto3 run in worker threads.

Keys have no leading slash and live under the configured root directory, exactly as the
registry:2 S3 driver writes them. One boto3 client is shared by the process and the number of
calls in flight is bounded. Writers are multipart uploads (parts of `chunksize`, at least
5 MiB) that stay open across `close`, so any process can continue one with `append=True`;
the object appears, whole, on `commit`. Abandoned multipart uploads (an upload never
finished) hold no visible data; a bucket lifecycle rule `AbortIncompleteMultipartUpload`
reclaims their space.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from anyio import CapacityLimiter, to_thread
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from registry.config import S3Config
from storage.driver import FileInfo, check_path
from storage.errors import BackendError, InvalidOffset, PathNotFound

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ListObjectsV2OutputTypeDef

T = TypeVar("T")
MIN_PART_SIZE = 5 << 20
MAX_COPY_SIZE = 5 << 30
COPY_PART_SIZE = 1 << 30
READ_CHUNK = 1 << 20
DELETE_BATCH = 1000
_NOT_FOUND = {"NoSuchKey", "404", "NotFound", "NoSuchUpload"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Driver:
    name = "s3"
    min_chunk_size = MIN_PART_SIZE

    def __init__(self, config: S3Config, client: S3Client | None = None) -> None:
        self.config = config
        self.bucket = config.bucket
        self.root = config.rootdirectory.strip("/")
        self.chunk_size = max(config.chunksize, MIN_PART_SIZE)
        self.redirect_expiry = config.redirectexpiry if config.redirect else 0
        self._limiter = CapacityLimiter(config.maxconcurrency)
        self.client: S3Client = client or self._client(config)

    @staticmethod
    def _client(config: S3Config) -> S3Client:
        boto_config = BotoConfig(
            region_name=config.region,
            retries={"max_attempts": config.maxretries, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=config.maxconcurrency,
            s3={"addressing_style": "path" if config.forcepathstyle else "auto"},
        )
        endpoint = config.regionendpoint or None
        if endpoint and "://" not in endpoint:
            endpoint = f"{'https' if config.secure else 'http'}://{endpoint}"
        session = boto3.session.Session(
            aws_access_key_id=config.accesskey or None,
            aws_secret_access_key=config.secretkey or None,
            region_name=config.region,
        )
        client: S3Client = session.client("s3", endpoint_url=endpoint, config=boto_config)
        return client

    # -- plumbing --------------------------------------------------------------------------

    def key(self, path: str) -> str:
        check_path(path)
        if path == "/":
            return f"{self.root}/" if self.root else ""
        return f"{self.root}{path}" if self.root else path[1:]

    def _dir_prefix(self, path: str) -> str:
        key = self.key(path)
        return key if key == "" or key.endswith("/") else key + "/"

    def _path(self, key: str) -> str:
        return "/" + (key[len(self.root) + 1 :] if self.root else key)

    async def call(self, path: str, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run one boto3 call in a worker thread; map its failures to storage errors."""

        def run() -> T:
            return fn(**kwargs)

        try:
            return await to_thread.run_sync(run, limiter=self._limiter)
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                raise PathNotFound(path) from None
            raise BackendError(path, f"s3 {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise BackendError(path, f"s3 {exc}") from exc

    def _put_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"StorageClass": self.config.storageclass}
        if self.config.encrypt:
            args["ServerSideEncryption"] = "AES256"
        return args

    # -- whole objects ---------------------------------------------------------------------

    async def get_content(self, path: str) -> bytes:
        key = self.key(path)

        def get() -> bytes:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

        return await self.call(path, get)

    async def put_content(self, path: str, data: bytes) -> None:
        await self.call(
            path,
            self.client.put_object,
            Bucket=self.bucket,
            Key=self.key(path),
            Body=data,
            ContentType="application/octet-stream",
            **self._put_args(),
        )

    async def reader(self, path: str, offset: int = 0) -> AsyncIterator[bytes]:
        info = await self.stat(path)
        if info.is_dir:
            raise PathNotFound(path)
        if offset < 0 or offset > info.size:
            raise InvalidOffset(path)
        if offset == info.size:
            return
        response = await self.call(
            path,
            self.client.get_object,
            Bucket=self.bucket,
            Key=self.key(path),
            Range=f"bytes={offset}-",
        )
        body = response["Body"]
        try:
            while chunk := await self.call(path, body.read, amt=READ_CHUNK):
                yield chunk
        finally:
            body.close()

    async def writer(self, path: str, append: bool = False) -> S3Writer:
        key = self.key(path)
        if not append:
            return S3Writer(self, path, key, None, [], 0)
        uploads = await self.call(
            path, self.client.list_multipart_uploads, Bucket=self.bucket, Prefix=key
        )
        mine = [u for u in uploads.get("Uploads", []) if u.get("Key") == key]
        if mine:
            latest = max(mine, key=lambda u: u["Initiated"])
            parts = await self._parts(path, key, latest["UploadId"])
            size = sum(part[2] for part in parts)
            return S3Writer(self, path, key, latest["UploadId"], parts, size)
        try:
            info = await self.stat(path)
        except PathNotFound:
            return S3Writer(self, path, key, None, [], 0)
        if info.is_dir:
            return S3Writer(self, path, key, None, [], 0)
        return S3Writer(self, path, key, None, [], info.size, adopt=True)

    async def _parts(self, path: str, key: str, upload_id: str) -> list[tuple[int, str, int]]:
        parts: list[tuple[int, str, int]] = []
        marker = 0
        while True:
            page = await self.call(
                path,
                self.client.list_parts,
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumberMarker=marker,
            )
            parts.extend((p["PartNumber"], p["ETag"], p["Size"]) for p in page.get("Parts", []))
            if not page.get("IsTruncated"):
                return parts
            marker = page["NextPartNumberMarker"]

    # -- metadata and listings -------------------------------------------------------------

    async def stat(self, path: str) -> FileInfo:
        key = self.key(path)
        if path != "/":
            try:
                head = await self.call(path, self.client.head_object, Bucket=self.bucket, Key=key)
            except PathNotFound:
                pass
            else:
                mtime = head["LastModified"].timestamp()
                return FileInfo(path, head["ContentLength"], mtime, False)
        page = await self.call(
            path,
            self.client.list_objects_v2,
            Bucket=self.bucket,
            Prefix=self._dir_prefix(path),
            MaxKeys=1,
        )
        if page.get("KeyCount", 0) == 0:
            raise PathNotFound(path)
        return FileInfo(path, 0, page["Contents"][0]["LastModified"].timestamp(), True)

    async def _pages(self, path: str, **kwargs: Any) -> AsyncIterator[ListObjectsV2OutputTypeDef]:
        token: str | None = None
        while True:
            args = dict(kwargs, Bucket=self.bucket, Prefix=self._dir_prefix(path))
            if token:
                args["ContinuationToken"] = token
            page = await self.call(path, self.client.list_objects_v2, **args)
            yield page
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    async def _children(self, path: str) -> builtins.list[FileInfo]:
        found = []
        async for page in self._pages(path, Delimiter="/"):
            for prefix in page.get("CommonPrefixes", []):
                found.append(FileInfo(self._path(prefix["Prefix"].rstrip("/")), 0, 0.0, True))
            for item in page.get("Contents", []):
                found.append(
                    FileInfo(
                        self._path(item["Key"]),
                        item["Size"],
                        item["LastModified"].timestamp(),
                        False,
                    )
                )
        return sorted(found, key=lambda info: info.path)

    async def list(self, path: str) -> builtins.list[str]:
        children = await self._children(path)
        if not children and path != "/":
            raise PathNotFound(path)
        return [info.path for info in children]

    async def walk(self, path: str) -> AsyncIterator[FileInfo]:
        """Every file and folder under `path`, depth first, in lexical order."""
        children = await self._children(path)
        if not children and path != "/":
            raise PathNotFound(path)
        async for info in self._walk(children):
            yield info

    async def _walk(self, children: builtins.list[FileInfo]) -> AsyncIterator[FileInfo]:
        for info in children:
            yield info
            if info.is_dir:
                async for below in self._walk(await self._children(info.path)):
                    yield below

    # -- changes ---------------------------------------------------------------------------

    async def move(self, src: str, dst: str) -> None:
        info = await self.stat(src)
        if info.is_dir:
            raise PathNotFound(src)
        source = {"Bucket": self.bucket, "Key": self.key(src)}
        if info.size <= MAX_COPY_SIZE:
            await self.call(
                src,
                self.client.copy_object,
                Bucket=self.bucket,
                Key=self.key(dst),
                CopySource=source,
                **self._put_args(),
            )
        else:
            transfer = TransferConfig(
                multipart_threshold=MAX_COPY_SIZE, multipart_chunksize=1 << 30, use_threads=False
            )
            await self.call(
                src,
                self.client.copy,
                CopySource=source,
                Bucket=self.bucket,
                Key=self.key(dst),
                ExtraArgs=self._put_args(),
                Config=transfer,
            )
        await self.call(src, self.client.delete_object, Bucket=self.bucket, Key=self.key(src))

    async def delete(self, path: str) -> None:
        keys: builtins.list[str] = []
        if path != "/":
            try:
                await self.call(
                    path, self.client.head_object, Bucket=self.bucket, Key=self.key(path)
                )
                keys.append(self.key(path))
            except PathNotFound:
                pass
        async for page in self._pages(path):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        if not keys:
            raise PathNotFound(path)
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start : start + DELETE_BATCH]]
            response = await self.call(
                path,
                self.client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": batch, "Quiet": True},
            )
            if response.get("Errors"):
                raise BackendError(path, f"s3 delete failed: {response['Errors'][0]}")

    async def redirect_url(self, path: str, method: str) -> str | None:
        if not self.redirect_expiry or method != "GET":
            return None
        return await self.call(
            path,
            self.client.generate_presigned_url,
            ClientMethod="get_object",
            Params={"Bucket": self.bucket, "Key": self.key(path)},
            ExpiresIn=self.redirect_expiry,
        )

    def local_path(self, path: str) -> Path | None:
        return None

    async def close(self) -> None:
        await to_thread.run_sync(self.client.close)


class S3Writer:
    """Bytes appended to an object through one multipart upload, kept open across `close`.

    `close` uploads what is buffered as a part, so another process reopening the path with
    `append=True` finds the upload and its parts and continues it; only `commit` completes it,
    which is when the object appears, whole. Parts are at least 5 MiB except the last: the
    writer holds back one full part until it is closed, so a closed chunk of 5 MiB or more
    never leaves a short part behind. A short last part (a chunk under 5 MiB) is folded into
    the next session: the upload is completed, restarted, and the object copied in as its
    first parts on the server side (or re-read when it is itself under 5 MiB), as the
    registry:2 driver does.
    """

    def __init__(
        self,
        driver: S3Driver,
        path: str,
        key: str,
        upload_id: str | None,
        parts: list[tuple[int, str, int]],
        size: int,
        adopt: bool = False,
    ) -> None:
        self._driver = driver
        self._path = path
        self._key = key
        self._upload_id = upload_id
        self._parts = parts
        self._size = size
        self._adopt = adopt
        self._buffer = bytearray()
        self._started = False
        self._done = False

    @property
    def size(self) -> int:
        return self._size

    async def _call(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        return await self._driver.call(
            self._path, fn, Bucket=self._driver.bucket, Key=self._key, **kwargs
        )

    async def _multipart(self) -> str:
        if self._upload_id is None:
            response = await self._call(
                self._driver.client.create_multipart_upload, **self._driver._put_args()
            )
            self._upload_id = response["UploadId"]
        return self._upload_id

    async def _complete(self) -> None:
        await self._call(
            self._driver.client.complete_multipart_upload,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e, _ in self._parts]},
        )

    async def _adopt_object(self, size: int) -> None:
        """Make the complete object at the key the first bytes of a new upload."""
        self._upload_id = None
        self._parts = []
        if size < MIN_PART_SIZE:
            self._buffer = bytearray(await self._driver.get_content(self._path))
            return
        upload_id = await self._multipart()
        source = {"Bucket": self._driver.bucket, "Key": self._key}
        # one part copy may take at most 5 GiB: larger objects are copied in ranges,
        # none of them under the 5 MiB minimum (the last absorbs a short remainder)
        starts = list(range(0, size, COPY_PART_SIZE))
        if len(starts) > 1 and size - starts[-1] < MIN_PART_SIZE:
            starts.pop()
        for index, start in enumerate(starts):
            end = (size if index == len(starts) - 1 else starts[index + 1]) - 1
            number = len(self._parts) + 1
            copied = await self._call(
                self._driver.client.upload_part_copy,
                UploadId=upload_id,
                PartNumber=number,
                CopySource=source,
                CopySourceRange=f"bytes={start}-{end}",
            )
            self._parts.append((number, copied["CopyPartResult"]["ETag"], end - start + 1))

    async def _begin(self) -> None:
        """Before the first new byte: continue a complete object, or fold in a short part."""
        self._started = True
        if self._adopt:
            await self._adopt_object(self._size)
        elif self._parts and self._parts[-1][2] < MIN_PART_SIZE:
            await self._complete()
            await self._adopt_object(self._size)

    async def _upload_part(self, data: bytes) -> None:
        upload_id = await self._multipart()
        number = len(self._parts) + 1
        response = await self._call(
            self._driver.client.upload_part, UploadId=upload_id, PartNumber=number, Body=data
        )
        self._parts.append((number, response["ETag"], len(data)))

    async def write(self, data: bytes | bytearray) -> int:
        if self._done:
            raise BackendError(self._path, "writer is closed")
        if not self._started:
            await self._begin()
        self._buffer += data
        self._size += len(data)
        chunk = self._driver.chunk_size
        while len(self._buffer) >= 2 * chunk:
            part = bytes(self._buffer[:chunk])
            del self._buffer[:chunk]
            await self._upload_part(part)
        return len(data)

    async def commit(self) -> None:
        if self._done:
            return
        self._done = True
        if not self._started and self._adopt:
            return
        if self._upload_id is None:
            await self._driver.put_content(self._path, bytes(self._buffer))
        else:
            if self._buffer or not self._parts:
                await self._upload_part(bytes(self._buffer))
            await self._complete()
        self._buffer = bytearray()

    async def close(self) -> None:
        if self._done:
            return
        self._done = True
        if self._buffer:
            await self._upload_part(bytes(self._buffer))
        self._buffer = bytearray()

    async def cancel(self) -> None:
        self._done = True
        self._buffer = bytearray()
        if self._upload_id is not None:
            with contextlib.suppress(PathNotFound):
                await self._call(
                    self._driver.client.abort_multipart_upload, UploadId=self._upload_id
                )
        with contextlib.suppress(PathNotFound):
            await self._call(self._driver.client.delete_object)
