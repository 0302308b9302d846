"""What a file is, judged by its bytes (magic numbers and structure), never by its name.

Accepted: PDF, OFD (the national fixed-layout format, a zip with OFD.xml), JPEG, PNG, Word .docx and Excel .xlsx
(zips with their main part). Refused with a reason the applicant can act on: executables and scripts (whatever
they are called), legacy .doc/.xls (may carry macros), macro-enabled Office files, PDFs with JavaScript or launch
actions, truncated or damaged files, zips too large when unpacked. The declared extension must agree with the
content, so `setup.exe` renamed `证明.pdf` is refused as an executable and a PNG named `.pdf` as a mismatch.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass


@dataclass(frozen=True)
class FileType:
    key: str
    label: str
    content_type: str
    extensions: tuple[str, ...]


TYPES = {t.key: t for t in (
    FileType("pdf", "PDF", "application/pdf", (".pdf",)),
    FileType("ofd", "OFD", "application/ofd", (".ofd",)),
    FileType("jpeg", "JPEG 图片", "image/jpeg", (".jpg", ".jpeg")),
    FileType("png", "PNG 图片", "image/png", (".png",)),
    FileType("docx", "Word 文档（.docx）", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             (".docx",)),
    FileType("xlsx", "Excel 表格（.xlsx）", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             (".xlsx",)),
)}
ACCEPTED_TEXT = "PDF、OFD、JPG、PNG、Word（.docx）或 Excel（.xlsx）"

# Signatures of things that must never be stored, named so the message says what the file really is.
_FORBIDDEN = (
    (b"MZ", "Windows 可执行程序"),
    (b"\x7fELF", "Linux 可执行程序"),
    (b"\xca\xfe\xba\xbe", "macOS 可执行程序"),
    (b"\xcf\xfa\xed\xfe", "macOS 可执行程序"),
    (b"\xfe\xed\xfa\xcf", "macOS 可执行程序"),
    (b"#!", "脚本文件"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "旧版 Office 文件（.doc/.xls，可能含宏），请另存为 PDF 或 .docx/.xlsx"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
)
_PDF_ACTIVE = (b"/JavaScript", b"/Launch", b"/EmbeddedFiles")
MAX_ZIP_ENTRIES = 5000
MAX_ZIP_UNPACKED = 500 * 1024 * 1024


class FileRefused(ValueError):
    """Why a file is refused, in Chinese for the applicant."""

    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh


def _zip_type(data: bytes) -> FileType:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise FileRefused("文件已损坏（压缩结构无法读取），请重新导出后上传") from exc
    if len(infos) > MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > MAX_ZIP_UNPACKED:
        raise FileRefused("文件解压后过大，疑似压缩炸弹，不允许上传")
    names = {i.filename for i in infos}
    if "OFD.xml" in names:
        return TYPES["ofd"]
    if "[Content_Types].xml" in names:
        content_types = archive.read("[Content_Types].xml")
        if any(n.endswith("vbaProject.bin") for n in names) or b"macroEnabled" in content_types:
            raise FileRefused("文件含有宏（启用宏的 Office 文档），不允许上传，请另存为 PDF 或不含宏的 .docx/.xlsx")
        if "word/document.xml" in names:
            return TYPES["docx"]
        if "xl/workbook.xml" in names:
            return TYPES["xlsx"]
    raise FileRefused(f"压缩包或不支持的 Office 文件，请上传 {ACCEPTED_TEXT} 文件")


def detect(data: bytes) -> FileType:
    """The file's type from its content, or FileRefused saying what it is and what is accepted."""
    if not data:
        raise FileRefused("文件为空（0 字节）")
    for magic, what in _FORBIDDEN:
        if data.startswith(magic):
            raise FileRefused(f"文件内容是{what}，不允许上传；请上传 {ACCEPTED_TEXT} 文件")
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-1024:]:
            raise FileRefused("PDF 文件不完整（缺少文件结束标记），请重新导出后上传")
        if any(marker in data for marker in _PDF_ACTIVE):
            raise FileRefused("PDF 含有脚本、启动命令或嵌入文件，不允许上传；请打印为普通 PDF 后上传")
        return TYPES["pdf"]
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if b"IEND" not in data[-16:]:
            raise FileRefused("PNG 图片不完整，请重新保存后上传")
        return TYPES["png"]
    if data.startswith(b"\xff\xd8\xff"):
        if len(data) < 128:
            raise FileRefused("JPEG 图片不完整，请重新保存后上传")
        return TYPES["jpeg"]
    if data.startswith(b"PK\x03\x04"):
        return _zip_type(data)
    head = data[:512].lstrip().lower()
    if head.startswith((b"<html", b"<!doctype", b"<script", b"<?php", b"<svg")):
        raise FileRefused(f"文件内容是网页或脚本，不允许上传；请上传 {ACCEPTED_TEXT} 文件")
    raise FileRefused(f"不支持的文件格式；请上传 {ACCEPTED_TEXT} 文件")


def check(data: bytes, file_name: str) -> FileType:
    """The content's type, which the name's extension must agree with."""
    kind = detect(data)
    dot = file_name.rfind(".")
    extension = file_name[dot:].lower() if dot > 0 else ""
    if extension not in kind.extensions:
        shown = extension or "（无扩展名）"
        raise FileRefused(f"文件扩展名 {shown} 与文件内容（{kind.label}）不符，请确认文件后重新上传")
    return kind
