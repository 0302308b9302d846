"""Uploaded file names are only ever a label for the download: files are stored under generated ids. A name that
tries to be a path or to deceive (separators, "..", control or bidirectional-override characters, Windows device
names) is refused, not silently rewritten, so the applicant knows what happened."""

from __future__ import annotations

import unicodedata

from engine.documents.filetypes import FileRefused

MAX_NAME = 120
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def check_name(raw: str | None) -> str:
    """The name to show (NFC-normalized), or FileRefused with the reason in Chinese."""
    name = unicodedata.normalize("NFC", raw or "")
    if not name.strip():
        raise FileRefused("文件名为空，请选择要上传的文件")
    if any(unicodedata.category(ch) == "Cs" for ch in name):  # undecodable bytes (issue 13): not storable text
        raise FileRefused("文件名不是有效的文字（编码错误），请重命名后上传")
    if "/" in name or "\\" in name or ".." in name or ":" in name:
        raise FileRefused("文件名不合法：不得包含路径（/、\\、..、:），请重命名后上传")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise FileRefused("文件名不合法：含有控制字符或不可见的方向控制字符，请重命名后上传")
    if name.startswith(".") or name != name.strip() or name.endswith("."):
        raise FileRefused("文件名不合法：不能以点开头、以点结尾或首尾含空格")
    if len(name) > MAX_NAME:
        raise FileRefused(f"文件名过长（{len(name)} 个字符，最多 {MAX_NAME} 个）")
    if name.split(".", 1)[0].upper() in _RESERVED:
        raise FileRefused("文件名不合法：不能使用系统保留的设备名")
    return name
