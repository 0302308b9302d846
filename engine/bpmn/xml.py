"""Hostile-XML-safe parsing with lxml: no DTDs, no entities, no network, bounded size and depth."""

from __future__ import annotations

import re

from lxml import etree

from engine.errors import HostileXml, InvalidBpmn

MAX_BPMN_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 200

# Refuse before parsing: an internal subset can declare entities that expand exponentially.
_DTD_MARKERS = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def parse_xml(data: bytes, *, file: str = "<bpmn>", max_bytes: int = MAX_BPMN_BYTES) -> etree._ElementTree:
    """Parse untrusted XML bytes or raise `HostileXml` / `InvalidBpmn` naming the file and line."""
    if len(data) > max_bytes:
        raise HostileXml(f"{file} is {len(data)} bytes; the limit is {max_bytes}", file=file)
    match = _DTD_MARKERS.search(data)
    if match:
        line = data.count(b"\n", 0, match.start()) + 1
        raise HostileXml(
            f"{file}:{line}: DTDs and entity declarations are not allowed in BPMN files", file=file, line=line
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidBpmn(f"{file}:{line}: not valid UTF-8 ({exc.reason})", file=file, line=line) from exc
    try:
        tree = etree.ElementTree(etree.fromstring(data, _parser()))
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or None
        raise InvalidBpmn(f"{file}:{line}: malformed XML: {exc.msg}", file=file, line=line) from exc
    if tree.docinfo.doctype:
        raise HostileXml(f"{file}: a DOCTYPE is not allowed", file=file)
    _check_depth(tree.getroot(), file)
    _check_no_xinclude(tree, file)
    return tree


# XInclude pulls in other files when a tool processes it; nothing here does, but a BPMN file has no use for it
# and the stored source is handed to other tools (modelers, auditors' downloads): refuse it (issue 13).
_XINCLUDE = ("{http://www.w3.org/2001/XInclude}*", "{http://www.w3.org/2003/XInclude}*")


def _check_no_xinclude(tree: etree._ElementTree, file: str) -> None:
    for node in tree.getroot().iter(*_XINCLUDE):
        raise HostileXml(f"{file}:{node.sourceline}: XInclude is not allowed in BPMN files", file=file,
                         line=node.sourceline)


def _check_depth(root: etree._Element, file: str) -> None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise HostileXml(
                f"{file}:{node.sourceline}: XML nested deeper than {MAX_DEPTH} levels",
                file=file,
                line=node.sourceline,
            )
        stack.extend((child, depth + 1) for child in node)


def line_of(tree: etree._ElementTree, element_id: str | None) -> int | None:
    """Spiff's errors often lack a line: find the element's line in our own tree."""
    if not element_id:
        return None
    for node in tree.getroot().iter():
        if isinstance(node.tag, str) and node.get("id") == element_id:
            return node.sourceline
    return None
