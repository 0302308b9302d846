"""The bytes of documents on disk: `<root>/<first 2 hex>/<id>`, written atomically (temp file, fsync, rename),
read back only after checking the SHA-256 the database holds. Keys are built from generated hex ids only, and
resolved paths must stay inside the root (defence in depth: nothing user-supplied reaches a path)."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path

from engine.errors import EngineError

_ID = re.compile(r"^[0-9a-f]{32}$")


class DocumentCorrupt(EngineError):
    """Stored document does not match its checksum"""

    status = 500


def new_id() -> str:
    return uuid.uuid4().hex


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DocumentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        prefix, _, doc_id = key.partition("/")
        if not _ID.match(doc_id) or prefix != doc_id[:2]:
            raise ValueError(f"not a document key: {key!r}")
        path = (self.root / prefix / doc_id).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"document key outside the store: {key!r}")
        return path

    def key_for(self, doc_id: str) -> str:
        return f"{doc_id[:2]}/{doc_id}"

    def write(self, doc_id: str, data: bytes) -> str:
        """Store the bytes under the id (never overwriting); returns the storage key."""
        key = self.key_for(doc_id)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{doc_id}.part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.link(partial, path)  # fails if the target exists: a document is never replaced
        finally:
            partial.unlink(missing_ok=True)
        return key

    def read(self, key: str, expected_sha256: str) -> bytes:
        data = self._path(key).read_bytes()
        if sha256(data) != expected_sha256:
            raise DocumentCorrupt(f"document {key} does not match its SHA-256: refusing to serve it")
        return data

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()
