"""Label text without fonts: estimated widths and wrapping that keeps Chinese (and words) readable.

The SVG keeps text as text, so the viewer's font draws it; widths are estimates: a CJK character is one em wide,
Latin letters about 0.6 em. Chinese wraps between any two characters, Latin text between words.
"""

from __future__ import annotations

import unicodedata

FONT_SIZE = 12.0
LINE_HEIGHT = 1.25


def char_width(ch: str, size: float = FONT_SIZE) -> float:
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return size
    if ch.isupper() or ch in "mwMW@%":
        return size * 0.72
    if ch in "il.,:;'|!1 ":
        return size * 0.32
    return size * 0.52


def text_width(text: str, size: float = FONT_SIZE) -> float:
    return sum(char_width(ch, size) for ch in text)


def _tokens(text: str) -> list[str]:
    """Wide characters are tokens of their own; runs of narrow characters stay together with their spaces."""
    tokens: list[str] = []
    current = ""
    for ch in text:
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            if current:
                tokens.append(current)
                current = ""
            tokens.append(ch)
        elif ch == " ":
            current += ch
            tokens.append(current)
            current = ""
        else:
            current += ch
    if current:
        tokens.append(current)
    return tokens


def wrap(text: str, max_width: float, size: float = FONT_SIZE, max_lines: int | None = None) -> list[str]:
    """Lines no wider than `max_width` (a single over-long token is split by characters)."""
    lines: list[str] = []
    for paragraph in text.replace("\r", "").split("\n"):
        line = ""
        for token in _tokens(paragraph):
            candidate = line + token
            if text_width(candidate.rstrip(), size) <= max_width or not line:
                line = candidate
                while text_width(line.rstrip(), size) > max_width and len(line) > 1:
                    # A single token wider than the box: break it by characters.
                    cut = len(line) - 1
                    while cut > 1 and text_width(line[:cut], size) > max_width:
                        cut -= 1
                    lines.append(line[:cut])
                    line = line[cut:]
            else:
                lines.append(line.rstrip())
                line = token.lstrip()
        lines.append(line.rstrip())
    lines = [ln for ln in lines if ln] or [""]
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:-1] + "…" if len(lines[-1]) > 1 else lines[-1] + "…"
    return lines
