"""Uploads are judged by their bytes, names are labels only, and a refused submission stores nothing: the file
type checks, the name checks, the store, and the portal's upload endpoint end to end."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from engine.documents import codes
from engine.documents.filetypes import FileRefused, check, detect
from engine.documents.names import check_name
from engine.documents.store import DocumentCorrupt, DocumentStore, new_id, sha256
from engine.documents.uploads import IncomingFile, UploadRefused, check_files
from engine.models import Document, InstanceEvent
from tests.conftest import engine_state
from tests.portal.support import (
    PROJECT,
    docx_bytes,
    exe_bytes,
    pdf_bytes,
    png_bytes,
    register,
    text_of,
    token_of,
)


def refused(data: bytes, name: str) -> str:
    with pytest.raises(FileRefused) as caught:
        check(data, name)
    return caught.value.message_zh


def test_types_come_from_the_content_and_must_agree_with_the_name() -> None:
    assert check(pdf_bytes(), "证明.PDF").key == "pdf"
    assert check(png_bytes(), "现场照片.png").key == "png"
    assert check(b"\xff\xd8\xff\xe0" + b"\x00" * 200 + b"\xff\xd9", "照片.jpeg").key == "jpeg"
    assert check(docx_bytes(), "说明.docx").key == "docx"
    assert "可执行程序" in refused(exe_bytes(), "营业执照.pdf")
    assert "可执行程序" in refused(b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "图纸.pdf")
    assert "扩展名 .pdf 与文件内容（PNG 图片）不符" in refused(png_bytes(), "图纸.pdf")
    assert "含有宏" in refused(docx_bytes(macro=True), "说明.docx")
    assert "旧版 Office" in refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "说明.doc")
    assert "不完整" in refused(b"%PDF-1.7\n1 0 obj\n", "截断.pdf")
    assert "脚本" in refused(b"%PDF-1.4\n<< /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\n%%EOF", "a.pdf")
    assert "网页或脚本" in refused(b"<html><script>alert(1)</script></html>", "a.pdf")
    assert "为空" in refused(b"", "a.pdf")
    with pytest.raises(FileRefused, match="不支持的文件格式"):
        detect(b"just some text")


@pytest.mark.parametrize("name", ["../../etc/passwd.pdf", "..\\..\\boot.ini.pdf", "/etc/shadow.pdf",
                                  "C:evil.pdf", "a\x00b.pdf", "报告\u202efdp.exe", ".hidden.pdf", "CON.pdf",
                                  "x" * 121 + ".pdf", "   "])
def test_names_that_are_paths_or_deceive_are_refused(name: str) -> None:
    with pytest.raises(FileRefused):
        check_name(name)


def test_a_plain_chinese_name_is_kept() -> None:
    assert check_name("建设用地规划许可证（扫描件）.pdf") == "建设用地规划许可证（扫描件）.pdf"


def test_one_bad_file_refuses_the_whole_submission_with_every_reason() -> None:
    files = [IncomingFile("CK-01-M1", "申请表.pdf", pdf_bytes()),
             IncomingFile("CK-01-M2", "总平面图.pdf", exe_bytes()),
             IncomingFile("ZJ-02-M1", "../../图纸.pdf", pdf_bytes()),
             IncomingFile("ZJ-02-M2", "大图.pdf", pdf_bytes() + b"\x00" * 2048, too_large=True)]
    with pytest.raises(UploadRefused) as caught:
        check_files(files, max_file_bytes=1024, max_files=10)
    problems = {p.slot: p.message for p in caught.value.problems}
    assert set(problems) == {"CK-01-M2", "ZJ-02-M1", "ZJ-02-M2"}
    assert "可执行程序" in problems["CK-01-M2"] and "路径" in problems["ZJ-02-M1"] and "1 KB" in problems["ZJ-02-M2"]
    assert caught.value.detail.startswith("上传被拒绝，未保存任何文件")


def test_the_store_never_overwrites_and_refuses_altered_bytes(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "docstore")
    doc_id = new_id()
    key = store.write(doc_id, b"%PDF original")
    assert key == f"{doc_id[:2]}/{doc_id}" and store.read(key, sha256(b"%PDF original")) == b"%PDF original"
    with pytest.raises(FileExistsError):
        store.write(doc_id, b"%PDF replacement")
    (tmp_path / "docstore" / key).write_bytes(b"%PDF tampered")
    with pytest.raises(DocumentCorrupt):
        store.read(key, sha256(b"%PDF original"))
    for bad in ("../../etc/passwd", f"{doc_id[:2]}/../{doc_id}", "zz/" + doc_id):
        with pytest.raises(ValueError):
            store.read(bad, "")
    assert not list((tmp_path / "docstore").rglob("*.part"))


def test_verification_codes_forgive_typing() -> None:
    code = codes.new_code()
    assert len(code) == 19 and code.count("-") == 3
    assert codes.normalize(code.lower().replace("-", " ")) == code
    assert codes.normalize("7K3Q M9TX 2D4F HW8R") == "7K3Q-M9TX-2D4F-HW8R"
    assert codes.normalize("OK3Q-M9TX-2D4F-HW8L") == "0K3Q-M9TX-2D4F-HW81"
    assert codes.normalize("7K3Q-M9TX") is None and codes.normalize("7K3Q-M9TX-2D4F-HW8!") is None


# --- through the portal --------------------------------------------------------------------------------------


@pytest.fixture
def draft(app: Flask, deploy: Callable[..., Any]) -> tuple[Any, str]:
    deploy("commercial_project")
    client = app.test_client()
    assert register(client, 21, "uploader").status_code == 302
    response = client.post("/portal/apply", data={**PROJECT, "csrf_token": token_of(client, "/portal/apply")})
    return client, response.location


def post_files(client: Any, path: str, files: dict[str, tuple[bytes, str]]) -> Any:
    """A multipart post encoded up front (the test client's own encoder spools big bodies to a temporary file
    it leaves open when the server answers 413)."""
    fields: dict[str, Any] = {"csrf_token": token_of(client, path)}
    fields.update({f"file-{slot}": FileStorage(io.BytesIO(content), filename=name)
                   for slot, (content, name) in files.items()})
    boundary, body = encode_multipart(MultiDict(fields))
    return client.post(f"{path}/files", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def stored(app: Flask) -> tuple[int, list[Path]]:
    state = engine_state(app)
    with state.sessions() as s:
        rows = s.scalar(select(func.count()).select_from(Document)) or 0
    root = state.settings.path(state.settings.paths.var) / "docstore"
    return rows, [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize(("content", "name", "message"), [
    (exe_bytes(), "营业执照.pdf", "文件内容是Windows 可执行程序，不允许上传"),
    (pdf_bytes() + b"%" * (300 * 1024), "总平面图.pdf", "文件超过大小上限 256 KB"),
    (pdf_bytes(), "../../../etc/cron.d/evil.pdf", "文件名不合法：不得包含路径"),
])
def test_refused_uploads_say_why_in_chinese_and_store_nothing(app: Flask, draft: tuple[Any, str], content: bytes,
                                                              name: str, message: str) -> None:
    client, path = draft
    response = post_files(client, path, {"CK-01-M1": (pdf_bytes(), "申请表.pdf"), "CK-01-M2": (content, name)})
    assert response.status_code == 422
    page = text_of(response.get_data(as_text=True))
    assert "上传被拒绝，未保存任何文件" in page and message in page, page
    assert stored(app) == (0, [])


def test_a_request_beyond_the_upload_limit_is_a_clear_page_and_stores_nothing(app: Flask,
                                                                              draft: tuple[Any, str]) -> None:
    client, path = draft
    limit = engine_state(app).settings.portal.max_request_bytes
    response = post_files(client, path, {"CK-01-M1": (pdf_bytes() + b"%" * limit, "申请表.pdf")})
    assert response.status_code == 413
    assert "本次上传总大小超过" in text_of(response.get_data(as_text=True))
    assert stored(app) == (0, [])


def test_accepted_files_are_stored_under_generated_ids_with_their_digest(app: Flask, draft: tuple[Any, str]) -> None:
    client, path = draft
    content = pdf_bytes("application form")
    response = post_files(client, path, {"CK-01-M1": (content, "申请表.pdf"), "other": (png_bytes(), "签字页.png")})
    assert response.status_code == 302
    rows, files = stored(app)
    assert rows == 2 and len(files) == 2
    with engine_state(app).sessions() as s:
        doc = s.scalars(select(Document).where(Document.material_code == "CK-01-M1")).one()
        ids = set(s.scalars(select(Document.id)))
        assert s.scalar(select(func.count()).select_from(InstanceEvent).where(
            InstanceEvent.kind == "document:uploaded")) == 0  # a draft has no history yet
    assert {f.name for f in files} == ids and all(f.parent.name == f.name[:2] for f in files)  # never the upload's name
    assert (doc.file_name, doc.file_type, doc.size, doc.sha256) == ("申请表.pdf", "pdf", len(content), sha256(content))
    assert doc.retain_until.year == 2056 and doc.retention_class == "project_record"
    download = client.get(f"/documents/{doc.id}")
    assert download.data == content and download.headers["X-Document-SHA256"] == doc.sha256
    assert "attachment" in download.headers["Content-Disposition"] and "sandbox" in download.headers[
        "Content-Security-Policy"]
    response = client.post(f"{path}/files/{doc.id}/delete", data={"csrf_token": token_of(client, path)})
    assert response.status_code == 302 and stored(app)[0] == 1 and len(stored(app)[1]) == 1
