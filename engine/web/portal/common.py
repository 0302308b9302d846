"""What the applicants' and the window's pages share: the document store, upload limits, reading uploaded files
from a request (with the per-request size limit set before CSRF parses the body), and running a storing command
so that a refused or failed submission leaves no bytes behind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, request
from werkzeug.exceptions import RequestEntityTooLarge

from engine.api.session import state, unit_of_work
from engine.documents.store import DocumentStore
from engine.documents.uploads import FileProblem, IncomingFile, UploadRefused, keeping_only_committed, size_text
from engine.models import Document
from engine.portal.applications import Limits
from engine.web.pages import error_page, page_blueprint

FILE_PREFIX = "file-"  # upload inputs are named file-<material code> (or file-other)


def store() -> DocumentStore:
    settings = state().settings
    return DocumentStore(settings.path(settings.paths.var) / "docstore")


def limits() -> Limits:
    portal = state().settings.portal
    return Limits(portal.max_file_bytes, portal.max_files, portal.retention_years)


def upload_blueprint(name: str, import_name: str, upload_endpoints: set[str]) -> Blueprint:
    """A page blueprint whose upload endpoints accept `[portal] max_request_bytes` (the app-wide limit is
    `[server] max_body_bytes`) and turn an over-large request into a clear page instead of a bare 413."""
    bp = page_blueprint(name, import_name)

    # url_value_preprocessor runs before the app's before_request hooks, where the CSRF check parses the body.
    @bp.url_value_preprocessor
    def _upload_limit(endpoint: str | None, _values: dict[str, Any] | None) -> None:
        if endpoint in {f"{name}.{e}" for e in upload_endpoints}:
            request.max_content_length = state().settings.portal.max_request_bytes

    @bp.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc: RequestEntityTooLarge) -> Any:
        total = size_text(state().settings.portal.max_request_bytes)
        return error_page(413, f"上传被拒绝，未保存任何文件：本次上传总大小超过 {total}，请分批上传。")

    return bp


def incoming_files() -> list[IncomingFile]:
    """The files of the request (inputs left empty are skipped), each read at most one byte past the limit."""
    limit = state().settings.portal.max_file_bytes
    files = []
    for field_name, storage in request.files.items(multi=True):
        if not field_name.startswith(FILE_PREFIX) or (not storage.filename and not storage.content_length):
            continue
        data = storage.stream.read(limit + 1)
        if not storage.filename and not data:
            continue
        files.append(IncomingFile(field_name[len(FILE_PREFIX):], storage.filename or "", data[:limit + 1],
                                  too_large=len(data) > limit))
    return files


def store_in_one_transaction(command: Callable[[Callable[[str], None]], list[Document]]) -> list[Document]:
    """Run `command(on_write)` as one unit of work; bytes of a failed (or re-applied) attempt are removed."""
    return keeping_only_committed(store(), lambda on_write: unit_of_work(lambda: command(on_write))())


def problems_of(exc: UploadRefused) -> dict[str, list[FileProblem]]:
    """Upload problems by slot, for showing each next to its input ("" = about the whole upload)."""
    by_slot: dict[str, list[FileProblem]] = {}
    for problem in exc.problems:
        by_slot.setdefault(problem.slot, []).append(problem)
    return by_slot
