"""JUEL conditions from Camunda Modeler files (`${approved}`, `${amount > 1000 && region == 'A'}`) translated
into the sandbox's Python when a BPMN file is parsed, so deploy compiles them like any other expression.

The subset (processes/README.md documents it for designers):
- one `${…}` (or `#{…}`) holding the whole text; text around it (`Total: ${x}`) is refused;
- variables (`approved`, `amount`), literals (`'A'`, `"A"`, `12`, `1.5`, `true`, `false`, `null`);
- comparisons `== != < > <= >=` and `eq ne lt gt le ge`;
- `&&` / `and`, `||` / `or`, `!` / `not`, unary `-`, `empty x` (null, '', empty list or map), parentheses.
Anything else (property access `a.b`, `a[0]`, method calls, arithmetic, `?:`, `instanceof`, `div`, `mod`) raises
`JuelUnsupported` naming the construct and its column: lint reports it as `juel-unsupported` and deploy refuses
the file, so it never surprises anyone at run time.

Semantics: the Python is fully parenthesised, so JUEL's precedence is kept (`!a == b` is `(not a) == b`). Values
are not coerced the JUEL way: `amount == '5'` compares a number with a string (false), a condition is true by
Python truthiness (the string 'false' is true), and ordering a null (`x > 1` with x null) fails the command
instead of yielding false. processes/README.md lists these differences.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_WRAPPED = re.compile(r"^\s*[$#]\{(?P<body>.*)\}\s*$", re.DOTALL)
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[<>!()\-])
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)

_WORD_OPERATORS = {"and": "&&", "or": "||", "not": "!", "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=",
                   "ge": ">="}
_LITERAL_WORDS = {"true": "True", "false": "False", "null": "None"}
_UNSUPPORTED_WORDS = {"div": "division (div)", "mod": "remainder (mod)", "instanceof": "instanceof"}
_UNSUPPORTED_SYMBOLS = {
    "+": "arithmetic (+)", "*": "arithmetic (*)", "/": "arithmetic (/)", "%": "arithmetic (%)",
    ".": "property access (a.b)", "[": "index access (a[…])", "]": "index access (a[…])",
    "?": "the conditional operator (?:)", ":": "the conditional operator (?:) or a function namespace",
    ",": "function arguments", "=": "assignment (=)", "{": "nested ${…}", "}": "nested ${…}",
    "&": "a single & (write && or and)", "|": "a single | (write || or or)", ";": "several expressions (;)",
}
_COMPARISONS = ("==", "!=", "<", ">", "<=", ">=")
_ESCAPES = {"\\'": "'", '\\"': '"', "\\\\": "\\"}


class JuelUnsupported(ValueError):
    """A JUEL text outside the translated subset."""

    def __init__(self, detail: str, column: int | None = None) -> None:
        where = f" (column {column})" if column is not None else ""
        super().__init__(f"{detail}{where}")
        self.detail = detail
        self.column = column


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, name, op, end
    text: str
    column: int  # 1-based, within the whole text


def is_juel(text: str | None) -> bool:
    """True when the text is written as a JUEL expression (it contains `${` or `#{`)."""
    return bool(text) and ("${" in text or "#{" in text)  # type: ignore[operator]


def translate(text: str) -> str:
    """The sandbox Python for a JUEL expression. Raises `JuelUnsupported`."""
    match = _WRAPPED.match(text)
    if match is None or is_juel(match.group("body")):
        raise JuelUnsupported("only one ${…} holding the whole text is supported (no text around it, no "
                              "composite expressions)")
    offset = match.start("body")
    parser = _Parser(list(_tokens(match.group("body"), offset)))
    python = parser.expression()
    token = parser.peek()
    if token.kind != "end":
        raise JuelUnsupported(f"unexpected {token.text!r}", token.column)
    return python


def python_or_text(text: str) -> str:
    """The translation of a JUEL text, or the text itself when it is not JUEL or not translatable (callers that
    only look at Python, e.g. lint's exhaustiveness check; `juel-unsupported` reports the rest)."""
    if not is_juel(text):
        return text
    try:
        return translate(text)
    except JuelUnsupported:
        return text


def _tokens(body: str, offset: int) -> Iterator[_Token]:
    for match in _TOKEN.finditer(body):
        kind = match.lastgroup or "other"
        value, column = match.group(), offset + match.start() + 1
        if kind == "space":
            continue
        if kind == "other":
            what = _UNSUPPORTED_SYMBOLS.get(value, f"the character {value!r}")
            raise JuelUnsupported(f"{what} is not in the supported JUEL subset", column)
        if kind == "name" and value in _WORD_OPERATORS:
            kind, value = "op", _WORD_OPERATORS[value]
        yield _Token(kind, value, column)
    yield _Token("end", "end of expression", offset + len(body) + 1)


class _Parser:
    """Recursive descent over JUEL's precedence: || < && < equality < relational < unary < primary."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens, self.position = tokens, 0

    def peek(self) -> _Token:
        return self.tokens[self.position]

    def take(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expression(self) -> str:
        return self._binary(0)

    _LEVELS: tuple[tuple[tuple[str, ...], str | None], ...] = (
        (("||",), "or"), (("&&",), "and"), (("==", "!="), None), (("<", ">", "<=", ">="), None))

    def _binary(self, level: int) -> str:
        if level == len(self._LEVELS):
            return self._unary()
        operators, python_word = self._LEVELS[level]
        left = self._binary(level + 1)
        while self.peek().kind == "op" and self.peek().text in operators:
            operator = self.take().text
            right = self._binary(level + 1)
            left = f"({left} {python_word or operator} {right})"
        following = self.peek()
        if following.kind == "op" and following.text == "-":
            raise JuelUnsupported("arithmetic (-) is not in the supported JUEL subset", following.column)
        if following.kind == "name" and following.text in _UNSUPPORTED_WORDS:
            raise JuelUnsupported(f"{_UNSUPPORTED_WORDS[following.text]} is not in the supported JUEL subset",
                                  following.column)
        return left

    def _unary(self) -> str:
        token = self.peek()
        if token.kind == "op" and token.text == "!":
            self.take()
            return f"(not {self._unary()})"
        if token.kind == "op" and token.text == "-":
            self.take()
            return f"(-{self._unary()})"
        if token.kind == "name" and token.text == "empty":
            self.take()
            operand = self._unary()
            return f"({operand} in (None, '', [], {{}}))"
        return self._primary()

    def _primary(self) -> str:
        token = self.take()
        if token.kind == "number":
            return token.text
        if token.kind == "string":
            return repr(_unquote(token))
        if token.kind == "op" and token.text == "(":
            inner = self.expression()
            closing = self.take()
            if closing.kind != "op" or closing.text != ")":
                raise JuelUnsupported(f"expected ')' but found {closing.text!r}", closing.column)
            return inner
        if token.kind == "name":
            return self._name(token)
        raise JuelUnsupported(f"expected a variable, a literal or '(' but found {token.text!r}", token.column)

    def _name(self, token: _Token) -> str:
        if token.text in _LITERAL_WORDS:
            return _LITERAL_WORDS[token.text]
        if token.text in _UNSUPPORTED_WORDS:
            raise JuelUnsupported(f"{_UNSUPPORTED_WORDS[token.text]} is not in the supported JUEL subset",
                                  token.column)
        following = self.peek()
        if following.kind == "op" and following.text == "(":
            raise JuelUnsupported(f"function and method calls ({token.text}(…)) are not in the supported JUEL "
                                  "subset", following.column)
        if "$" in token.text or token.text.startswith("_") or keyword.iskeyword(token.text) \
                or token.text in ("True", "False", "None"):
            raise JuelUnsupported(f"the variable name {token.text!r} cannot be used in the sandbox (no '$', no "
                                  "leading '_', no Python keyword)", token.column)
        return token.text


def _unquote(token: _Token) -> str:
    inner = token.text[1:-1]
    quote = token.text[0]

    def replace(match: re.Match[str]) -> str:
        escape = match.group()
        if escape in _ESCAPES:
            return _ESCAPES[escape]
        raise JuelUnsupported(f"the escape {escape!r} in a string (JUEL knows \\' \\\" \\\\)", token.column)

    text = re.sub(r"\\.", replace, inner, flags=re.DOTALL)
    if quote not in ("'", '"'):  # pragma: no cover - the tokenizer only yields quoted strings
        raise JuelUnsupported("a string must be quoted", token.column)
    return text


# --- in a BPMN document ------------------------------------------------------------------------------------------

_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
# Where BPMN holds an expression the engine evaluates (conditions, loop settings, timer texts).
EXPRESSION_TAGS = frozenset(f"{_BPMN}{tag}" for tag in (
    "conditionExpression", "condition", "completionCondition", "loopCardinality", "timeDuration", "timeDate",
    "timeCycle"))


class JuelSiteError(JuelUnsupported):
    """A JUEL text in a document that cannot be translated, with the element holding it."""

    def __init__(self, cause: JuelUnsupported, element: Any, owner_id: str | None) -> None:
        super().__init__(cause.detail, cause.column)
        self.element, self.owner_id = element, owner_id


def owner_id(element: Any) -> str | None:
    """The id of the flow element an expression belongs to (a sequence flow, an event, an activity): event
    definitions and loop characteristics carry modeler ids of their own that nobody reads."""
    for ancestor in element.iterancestors():
        tag = ancestor.tag if isinstance(ancestor.tag, str) else ""
        if ancestor.get("id") and not tag.endswith(("EventDefinition", "LoopCharacteristics")):
            return str(ancestor.get("id"))
    return None


def translate_tree(root: Any) -> int:
    """Rewrite every JUEL expression text under `root` (an lxml element) into sandbox Python, in place; returns
    how many were rewritten. Raises `JuelSiteError` for the first text outside the subset."""
    count = 0
    for element in root.iter(*EXPRESSION_TAGS):
        if not is_juel(element.text):
            continue
        try:
            element.text = translate(element.text)
        except JuelUnsupported as exc:
            raise JuelSiteError(exc, element, owner_id(element)) from exc
        count += 1
    return count
