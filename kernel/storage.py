"""Content-addressed file storage for attachments (K8), outside the database.

A file lives at ``<root>/<sha[:2]>/<sha[2:4]>/<sha>``. It is streamed to a
temporary file while hashed and counted, then renamed into place, so a crash
never leaves a half-written blob under its final name. Equal files are stored once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1 << 16


class BlobTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


class BlobEmpty(Exception):
    """The stream had no bytes and the caller refuses empty files (nothing is kept)."""


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int


class BlobStore:
    def __init__(self, root: str):
        self.root = root

    def path(self, sha256: str) -> str:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 digest")
        return os.path.join(self.root, sha256[:2], sha256[2:4], sha256)

    def put(self, stream: BinaryIO, max_bytes: int | None = None,
            allow_empty: bool = True) -> StoredBlob:
        os.makedirs(self.root, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise BlobTooLarge(max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0 and not allow_empty:
                raise BlobEmpty()
            sha = digest.hexdigest()
            final = self.path(sha)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.replace(tmp, final)
            return StoredBlob(sha, size)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb")

    def exists(self, sha256: str) -> bool:
        return os.path.exists(self.path(sha256))

    def walk(self) -> Iterator[tuple[str | None, str]]:
        """``(sha256, path)`` of every stored blob, and ``(None, path)`` of every
        temporary file a crashed upload left behind."""
        if not os.path.isdir(self.root):
            return
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                path = os.path.join(folder, name)
                if name.startswith(".upload-"):
                    yield None, path
                elif len(name) == 64 and all(c in "0123456789abcdef" for c in name):
                    yield name, path
