"""English for every Chinese string the pages wrap in `_()` (see engine/web/i18n.py)."""

EN: dict[str, str] = {}
