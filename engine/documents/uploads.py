"""Accepting uploaded files: every file of a submission is checked (name, size, content type) before any is
stored, so one bad file refuses the whole submission and nothing is written. Stored files get a generated id,
their SHA-256 and a retention date; a transaction that fails afterwards removes the bytes it wrote."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from engine.calendar import SHANGHAI
from engine.documents.filetypes import FileRefused, FileType, check
from engine.documents.names import check_name
from engine.documents.store import DocumentStore, new_id, sha256
from engine.errors import InvalidInput
from engine.models import Document

RETENTION_CLASS = "project_record"  # 工程建设项目审批档案
T = TypeVar("T")


@dataclass(frozen=True)
class IncomingFile:
    slot: str  # the form field it came in (a material code, or "file")
    file_name: str  # as the browser sent it
    data: bytes
    too_large: bool = False  # reading stopped at the size limit


@dataclass(frozen=True)
class FileProblem:
    slot: str
    file_name: str
    message: str


@dataclass(frozen=True)
class CheckedFile:
    slot: str
    file_name: str
    kind: FileType
    data: bytes
    sha256: str


class UploadRefused(InvalidInput):
    """Upload refused"""

    def __init__(self, problems: list[FileProblem]) -> None:
        detail = "；".join(f"{p.file_name or p.slot}：{p.message}" if p.file_name or p.slot else p.message
                          for p in problems)
        super().__init__(f"上传被拒绝，未保存任何文件：{detail}", problems=[asdict(p) for p in problems])
        self.problems = problems


def size_text(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


def check_files(files: Sequence[IncomingFile], *, max_file_bytes: int, max_files: int) -> list[CheckedFile]:
    """Every file checked; UploadRefused lists each problem (nothing is stored then)."""
    problems: list[FileProblem] = []
    checked: list[CheckedFile] = []
    if not files:
        raise UploadRefused([FileProblem("", "", "请选择要上传的文件")])
    if len(files) > max_files:
        problems.append(FileProblem("", "", f"一次最多上传 {max_files} 个文件，本次选择了 {len(files)} 个"))
    for f in files:
        try:
            name = check_name(f.file_name)
            if f.too_large or len(f.data) > max_file_bytes:
                raise FileRefused(f"文件超过大小上限 {size_text(max_file_bytes)}，请压缩或拆分后上传")
            kind = check(f.data, name)
        except FileRefused as exc:
            problems.append(FileProblem(f.slot, f.file_name, exc.message_zh))
        else:
            checked.append(CheckedFile(f.slot, name, kind, f.data, sha256(f.data)))
    if problems:
        raise UploadRefused(problems)
    return checked


def retain_until(now: datetime, years: int) -> date:
    day = now.astimezone(SHANGHAI).date()
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def store_files(session: Session, store: DocumentStore, files: Iterable[CheckedFile], *, credit_code: str,
                application_id: str | None, instance_id: str | None, purpose: str,
                material_code: Callable[[CheckedFile], str | None], actor: str, channel: str, now: datetime,
                retention_years: int, on_write: Callable[[str], None]) -> list[Document]:
    """Write the bytes and add their rows (the caller's transaction commits them). `on_write` learns every key
    written, so the caller can remove the bytes if the transaction fails."""
    rows = []
    for f in files:
        doc_id = new_id()
        key = store.write(doc_id, f.data)
        on_write(key)
        row = Document(id=doc_id, application_id=application_id, instance_id=instance_id, credit_code=credit_code,
                       purpose=purpose, material_code=material_code(f), file_name=f.file_name, file_type=f.kind.key,
                       content_type=f.kind.content_type, size=len(f.data), sha256=f.sha256, storage_key=key,
                       channel=channel, uploaded_by=actor, uploaded_at=now, retention_class=RETENTION_CLASS,
                       retain_until=retain_until(now, retention_years), subject_kind=None, subject_id=None,
                       verification_code=None)
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def keeping_only_committed(store: DocumentStore, run: Callable[[Callable[[str], None]], list[Document]]
                           ) -> list[Document]:
    """Run a storing command (which may be re-applied on conflicts) and remove any bytes its rows do not keep:
    all of them if it fails, an earlier attempt's if it was re-applied."""
    written: list[str] = []
    try:
        rows = run(written.append)
    except BaseException:
        for key in written:
            store.delete(key)
        raise
    kept = {row.storage_key for row in rows}
    for key in written:
        if key not in kept:
            store.delete(key)
    return rows


def document_event(rows: Sequence[Document]) -> dict[str, object]:
    """The history payload of an upload: what was stored, not the bytes."""
    return {"documents": [{"id": r.id, "material_code": r.material_code, "purpose": r.purpose,
                           "file_type": r.file_type, "size": r.size, "sha256": r.sha256} for r in rows]}
