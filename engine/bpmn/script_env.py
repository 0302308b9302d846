"""The restricted Python for every gateway condition, script task, timer expression and pre/post script.

Spiff's stock `TaskDataEnvironment` evals source with the real builtins, so a gateway condition can run a shell
command (DESIGN.md §5). Here a text is parsed once, checked against an allow-list of syntax, rewritten so that
every operation able to build something big goes through a bounded helper, compiled, and cached (LRU): a cached
plain condition costs one `eval` of a code object instead of Spiff's compile-and-eval of the source.

Rules (a `SandboxViolation` names the construct; static ones are raised at compile time, so deploy refuses them):
- Allowed syntax: literals, names, arithmetic, comparisons, `and`/`or`/`not`, `x if c else y`, subscripts and
  slices, list/tuple/dict/set displays and comprehensions, f-strings, assignment (plain, augmented, tuple
  unpacking), `if`/`elif`/`else`, `for` (with `break`/`continue`), `pass`, `del` of names and items.
- Refused: `import`, `lambda`, `def`, `class`, `while`, `with`, `try`, `raise`, `assert`, `global`/`nonlocal`,
  `yield`, `await`/`async`, `match`, `:=`, annotations, `*`/`**` unpacking, `@`, any name, attribute or keyword
  starting with `_`, attribute access other than calling an allowed method, assigning to a slice.
- Calls: only `ALLOWED_FUNCTIONS` (always the sandbox's own, even if task data has a variable of that name) and
  `ALLOWED_METHODS` on exact `str`/`list`/`dict`/`set`/`tuple` values (checked at run time). `str.format` and
  `format_map` are refused (format strings can walk attributes); use f-strings.
- f-string format specs must be constant, at most 32 characters, with no number above 1000 (`{amount:,.2f}`).
- Bounded values: no single operation builds a str/bytes/list/tuple longer than `MAX_LENGTH` (100 000) items or
  characters (`*`, `+`, `%`, `str()`, f-strings, `join`, `replace`, `extend`); integer results of `+ - * ** <<`
  stay within ±10**100; `**` takes only a constant exponent with |e| <= 64; `range()` yields at most 100 000
  numbers; `round()` at most 100 digits; `sum()` adds numbers only.
- Bounded runs: each evaluate/execute gets `MAX_ITERATIONS` (1 000 000) loop and comprehension iterations in
  total (nested loops included) and `MAX_ALLOCATION` (10 000 000) items/characters built by the bounded
  operations, slices, copies and container-building functions.
- No clock, no I/O: scripts see task data only; the engine injects `now` as a task-data variable when needed.

Remaining limits (documented, not enforced without timers): single C-level operations on values are not metered
(`in`, `==`, `sorted`, `max`, `count` over one value cost up to its size, ≤ 100 000 for values a script builds), so
a loop of up to 1 000 000 iterations doing such scans can burn CPU for minutes; memory stays bounded. Size
estimates for `str()`/f-strings/`%` are approximate (within a small factor). A failed script leaves task data as
it was, except for in-place changes (`append`, `update`, …) to lists and dicts it already held.
"""

from __future__ import annotations

import ast
import copy
import functools
import operator
import re
import traceback
import types
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any

from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import SandboxViolation

MAX_SOURCE_CHARS = 100_000
MAX_LENGTH = 100_000
MAX_INT = 10**100
MAX_EXPONENT = 64
MAX_ITERATIONS = 1_000_000
MAX_ALLOCATION = 10_000_000
MAX_FORMAT_SPEC = 32
MAX_FORMAT_WIDTH = 1000
MAX_ROUND_DIGITS = 100

_PREFIX = "_sandbox_"  # helpers live under names user code cannot spell (leading "_" is refused)
_FILENAME = "<string>"  # Spiff's error reporting looks for this frame name to find the failing line
_MAX_INT_BITS = MAX_INT.bit_length()
_SEQUENCES = frozenset({str, bytes, list, tuple})
_CONTAINERS = frozenset({str, bytes, list, tuple, dict, set, frozenset})
_NUMBERS = frozenset({int, float, bool})
_LISTLIKE = frozenset({list, tuple, set, frozenset, type({}.keys()), type({}.values()), type({}.items())})


# --- per-run budget ----------------------------------------------------------------------------------------------


class _Budget:
    """What one evaluate/execute call may still spend; lives in a ContextVar so threads never share it."""

    __slots__ = ("allocation", "ticker")

    def __init__(self) -> None:
        self.allocation = MAX_ALLOCATION
        self.ticker: Iterator[None] | None = None


class _OutOfIterations:
    """The ticker's tail: advancing past MAX_ITERATIONS raises, every time."""

    def __iter__(self) -> _OutOfIterations:
        return self

    def __next__(self) -> None:
        raise SandboxViolation(f"loops and comprehensions ran more than {MAX_ITERATIONS} iterations")


_BUDGET: ContextVar[_Budget | None] = ContextVar("sandbox_budget", default=None)
_first = operator.itemgetter(0)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:
        raise RuntimeError("sandboxed code must run through SandboxEnvironment")
    return budget


def _charge(amount: int) -> None:
    budget = _budget()
    budget.allocation -= amount
    if budget.allocation < 0:
        raise SandboxViolation(f"the script built more than {MAX_ALLOCATION} items or characters in total")


def _built(result: Any) -> Any:
    """Charge a freshly built container or string to the run's allocation budget."""
    if type(result) in _CONTAINERS:
        _charge(len(result))
    return result


def _check_length(size: int, what: str) -> None:
    if size > MAX_LENGTH:
        raise SandboxViolation(f"{what} would build more than {MAX_LENGTH} items or characters")


def _int_result(value: Any, what: str) -> Any:
    if type(value) is int and not -MAX_INT <= value <= MAX_INT:
        raise SandboxViolation(f"{what} would produce a number beyond 10**100")
    return value


def _iterate(iterable: Iterable[Any]) -> Iterator[Any]:
    """Every for loop and comprehension iterates through here: zip with the run's shared ticker, all in C."""
    iterator = iter(iterable)
    budget = _budget()
    if budget.ticker is None:
        budget.ticker = chain(repeat(None, MAX_ITERATIONS), _OutOfIterations())
    return map(_first, zip(iterator, budget.ticker))


def _text_size(value: Any, limit: int) -> int:
    """Approximate len(str(value)), walking at most ~limit units of work (aliases and cycles count each time)."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bytes:
            total += len(item) + 3
        elif kind is int:
            total += item.bit_length() // 3 + 2
        elif kind in _LISTLIKE:  # dict views too: their repr lists every item
            total += 2 + 2 * len(item)
            if total <= limit:
                stack.extend(item)
        elif kind is dict:
            total += 2 + 4 * len(item)
            if total <= limit:
                stack.extend(item.keys())
                stack.extend(item.values())
        else:
            total += 330  # float with 'f' formatting, datetime, None, …
        if total > limit:
            break
    return total


# --- operators ---------------------------------------------------------------------------------------------------


def _repeat(length: int, times: Any) -> None:
    size = length * max(times, 0)
    _check_length(size, "'*' (repetition)")
    _charge(size)


def _add(a: Any, b: Any) -> Any:
    if type(a) in _SEQUENCES and type(b) in _SEQUENCES:
        size = len(a) + len(b)
        _check_length(size, "'+'")
        _charge(size)
        return a + b
    return _int_result(a + b, "'+'")


def _sub(a: Any, b: Any) -> Any:
    return _int_result(_built(a - b), "'-'")


def _mul(a: Any, b: Any) -> Any:
    if type(a) in _SEQUENCES and isinstance(b, int):
        _repeat(len(a), b)
    elif type(b) in _SEQUENCES and isinstance(a, int):
        _repeat(len(b), a)
    elif isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() - 1 > _MAX_INT_BITS:
        raise SandboxViolation("'*' would produce a number beyond 10**100")
    return _int_result(a * b, "'*'")


def _pow(base: Any, exponent: Any) -> Any:
    if type(base) not in _NUMBERS:
        raise SandboxViolation("'**' works on numbers only")
    if type(base) is not float and type(exponent) is int and exponent > 0:
        if (abs(base).bit_length() - 1) * exponent > _MAX_INT_BITS:  # a lower bound of the result's bits
            raise SandboxViolation("'**' would produce a number beyond 10**100")
    return _int_result(base**exponent, "'**'")


def _lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and a.bit_length() + b > _MAX_INT_BITS + 1:
        raise SandboxViolation("'<<' would produce a number beyond 10**100")
    return _int_result(a << b, "'<<'")


_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?.", re.S)


def _mod(a: Any, b: Any) -> Any:
    kind = type(a)
    if kind is str or kind is bytes:  # printf-style formatting: widths can be huge, so bound them first
        text = a if kind is str else a.decode("latin-1")
        padding = 0
        for width, precision in _PRINTF_FIELD.findall(text):
            if width == "*" or precision == "*":
                raise SandboxViolation("'*' widths in %-formatting are not allowed")
            padding += int(width or 0) + int(precision or 0)
        _check_length(len(a) + padding + _text_size(b, MAX_LENGTH), "%-formatting")
        return _built(a % b)
    return a % b


def _bit_or(a: Any, b: Any) -> Any:
    return _built(a | b)


def _bit_and(a: Any, b: Any) -> Any:
    return _built(a & b)


def _bit_xor(a: Any, b: Any) -> Any:
    return _built(a ^ b)


_BINARY: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", _add),
    ast.Sub: ("-", _sub),
    ast.Mult: ("*", _mul),
    ast.Pow: ("**", _pow),
    ast.LShift: ("<<", _lshift),
    ast.Mod: ("%", _mod),
    ast.BitOr: ("|", _bit_or),
    ast.BitAnd: ("&", _bit_and),
    ast.BitXor: ("^", _bit_xor),
}
_BY_SYMBOL = {symbol: helper for symbol, helper in _BINARY.values()}
_SET_INPLACE = {"|": operator.ior, "&": operator.iand, "-": operator.isub, "^": operator.ixor}


def _augment(symbol: str, current: Any, value: Any) -> Any:
    """`target op= value` with Python's in-place semantics for lists, sets and dicts, bounded like `op`."""
    kind = type(current)
    if kind is list and symbol == "+":
        _extend(current, value)
        return current
    if kind is list and symbol == "*" and isinstance(value, int):
        _repeat(len(current), value)
        current *= value
        return current
    if (kind is set or kind is dict) and symbol in _SET_INPLACE:
        before = len(current)
        result = _SET_INPLACE[symbol](current, value)
        _charge(max(len(result) - before, 0))
        return result
    return _BY_SYMBOL[symbol](current, value)


def _slice(value: Any, lower: Any, upper: Any, step: Any) -> Any:
    return _built(value[lower:upper:step])


def _fstring(template: tuple[Any, ...], values: tuple[Any, ...]) -> str:
    """An f-string: template holds literal str parts and (conversion, spec, padding) per placeholder."""
    size = 0
    index = 0
    for part in template:
        if type(part) is str:
            size += len(part)
        else:
            size += part[2] + _text_size(values[index], MAX_LENGTH)
            index += 1
    _check_length(size, "the f-string")
    pieces = []
    index = 0
    for part in template:
        if type(part) is str:
            pieces.append(part)
            continue
        conversion, spec, _ = part
        value = values[index]
        index += 1
        if conversion == ord("s"):
            value = str(value)
        elif conversion == ord("r"):
            value = repr(value)
        elif conversion == ord("a"):
            value = ascii(value)
        pieces.append(format(value, spec))
    result = "".join(pieces)
    _charge(len(result))
    return result


# --- functions ---------------------------------------------------------------------------------------------------


def _building(factory: Callable[..., Any]) -> Callable[..., Any]:
    """A container constructor whose result is charged to the allocation budget."""

    def build(*args: Any, **kwargs: Any) -> Any:
        return _built(factory(*args, **kwargs))

    build.__name__ = build.__qualname__ = factory.__name__
    return build


def _str(*args: Any, **kwargs: Any) -> str:
    if len(args) == 1 and not kwargs:
        value = args[0]
        if type(value) is str:
            return value
        _check_length(_text_size(value, MAX_LENGTH), "str()")
        return _built(str(value))
    return _built(str(*args, **kwargs))


def _range(*args: Any) -> range:
    numbers = range(*args)
    try:
        size = len(numbers)
    except OverflowError:
        size = MAX_LENGTH + 1
    if size > MAX_LENGTH:
        raise SandboxViolation(f"range() of more than {MAX_LENGTH} numbers is not allowed")
    return numbers


def _round(number: Any, ndigits: Any = None) -> Any:
    if ndigits is None:
        return round(number)
    if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:  # round(1, -10**9) computes 10**(10**9)
        raise SandboxViolation(f"round() takes at most {MAX_ROUND_DIGITS} digits")
    return round(number, ndigits)


def _sum(iterable: Iterable[Any], /, start: Any = 0) -> Any:
    if type(start) not in _NUMBERS:
        raise SandboxViolation("sum() adds numbers only; use ''.join(…) or + for strings and lists")
    return _int_result(sum(iterable, start), "sum()")


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "all": all,
    "any": any,
    "bool": bool,
    "dict": _building(dict),
    "enumerate": enumerate,
    "float": float,
    "int": int,
    "len": len,
    "list": _building(list),
    "max": max,
    "min": min,
    "range": _range,
    "reversed": reversed,
    "round": _round,
    "set": _building(set),
    "sorted": _building(sorted),
    "str": _str,
    "sum": _sum,
    "tuple": _building(tuple),
    "zip": zip,
}
ALLOWED_FUNCTIONS: frozenset[str] = frozenset(_FUNCTIONS)


# --- methods -----------------------------------------------------------------------------------------------------


def _text_method(name: str) -> Callable[..., Any]:
    """A str method that builds new text (≤ about the receiver's size): charge the receiver's length."""

    def call(text: str, /, *args: Any, **kwargs: Any) -> Any:
        _charge(len(text))
        return getattr(text, name)(*args, **kwargs)

    return call


def _copying_method(name: str) -> Callable[..., Any]:
    def call(container: Any, /, *args: Any, **kwargs: Any) -> Any:
        return _built(getattr(container, name)(*args, **kwargs))

    return call


def _join(separator: str, iterable: Iterable[Any], /) -> str:
    parts = iterable if type(iterable) in (list, tuple) else list(iterable)
    try:
        size = sum(map(len, parts)) + len(separator) * max(len(parts) - 1, 0)
    except TypeError:
        return separator.join(parts)  # raises join's own TypeError
    _check_length(size, "str.join()")
    _charge(size)
    return separator.join(parts)


def _replace(text: str, old: Any, new: Any, count: Any = -1, /) -> str:
    if type(old) is str and type(new) is str and type(count) is int:
        hits = text.count(old) if old else len(text) + 1
        if count >= 0:
            hits = min(hits, count)
        size = len(text) + hits * (len(new) - len(old))
        _check_length(size, "str.replace()")
        _charge(size)
    return text.replace(old, new, count)


def _extend(items: list[Any], values: Iterable[Any], /) -> None:
    try:
        size = len(values)  # type: ignore[arg-type]
    except TypeError:
        values = list(values)
        size = len(values)
    _check_length(len(items) + size, "list.extend()")
    _charge(size)
    items.extend(values)


def _update(container: Any, /, *args: Any, **kwargs: Any) -> None:
    _charge(len(kwargs) + sum(len(arg) if hasattr(arg, "__len__") else 1 for arg in args))
    container.update(*args, **kwargs)


_PLAIN = None  # a method called as is: O(1) or no new container
_STR_METHODS: dict[str, Callable[..., Any] | None] = {
    **dict.fromkeys(
        ("count", "endswith", "find", "index", "isalnum", "isalpha", "isdecimal", "isdigit", "islower",
         "isnumeric", "isspace", "isupper", "rfind", "rindex", "startswith"),
        _PLAIN,
    ),
    **{
        name: _text_method(name)
        for name in ("capitalize", "casefold", "lower", "lstrip", "partition", "removeprefix", "removesuffix",
                     "rpartition", "rsplit", "rstrip", "split", "splitlines", "strip", "title", "upper")
    },
    "join": _join,
    "replace": _replace,
}
_LIST_METHODS: dict[str, Callable[..., Any] | None] = {
    **dict.fromkeys(("append", "clear", "count", "index", "insert", "pop", "remove", "reverse", "sort"), _PLAIN),
    "copy": _copying_method("copy"),
    "extend": _extend,
}
_DICT_METHODS: dict[str, Callable[..., Any] | None] = {
    **dict.fromkeys(("clear", "get", "items", "keys", "pop", "setdefault", "values"), _PLAIN),
    "copy": _copying_method("copy"),
    "update": _update,
}
_SET_METHODS: dict[str, Callable[..., Any] | None] = {
    **dict.fromkeys(("add", "clear", "discard", "isdisjoint", "issubset", "issuperset", "pop", "remove"), _PLAIN),
    **{name: _copying_method(name) for name in ("copy", "difference", "intersection", "symmetric_difference",
                                                "union")},
    "update": _update,
}
_METHODS: dict[type, dict[str, Callable[..., Any] | None]] = {
    str: _STR_METHODS,
    list: _LIST_METHODS,
    dict: _DICT_METHODS,
    set: _SET_METHODS,
    tuple: {"count": _PLAIN, "index": _PLAIN},
}
ALLOWED_METHODS: frozenset[str] = frozenset().union(*_METHODS.values())


def _method(receiver: Any, name: str, /, *args: Any, **kwargs: Any) -> Any:
    """`receiver.name(...)`, only for the exact built-in types above (never a look-alike from outside)."""
    table = _METHODS.get(type(receiver))
    if table is None or name not in table:
        raise SandboxViolation(f"method '{name}' is not allowed on {type(receiver).__name__} values")
    special = table[name]
    if special is None:
        return getattr(receiver, name)(*args, **kwargs)
    return special(receiver, *args, **kwargs)


_HELPERS: dict[str, Any] = {
    "__builtins__": {},
    **{f"{_PREFIX}fn_{name}": function for name, function in _FUNCTIONS.items()},
    **{f"{_PREFIX}{helper.__name__.lstrip('_')}": helper for _, helper in _BINARY.values()},
    f"{_PREFIX}augment": _augment,
    f"{_PREFIX}iterate": _iterate,
    f"{_PREFIX}slice": _slice,
    f"{_PREFIX}fstring": _fstring,
    f"{_PREFIX}method": _method,
}

# Callables that never touch the budget: code naming only these runs without setting one up.
_UNMETERED = frozenset({abs, all, any, bool, enumerate, float, int, len, max, min, reversed, zip, _range, _round,
                        _sum})

# --- static checks and rewriting ---------------------------------------------------------------------------------

_ALLOWED_NODES = frozenset({
    ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Pass, ast.Break,
    ast.Continue, ast.Delete, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Dict, ast.Set, ast.List, ast.Tuple,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension, ast.Compare, ast.Call,
    ast.keyword, ast.Constant, ast.Name, ast.Attribute, ast.Subscript, ast.Slice, ast.JoinedStr,
    ast.FormattedValue, ast.Load, ast.Store, ast.Del, ast.And, ast.Or, ast.Add, ast.Sub, ast.Mult, ast.Div,
    ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift, ast.BitOr, ast.BitXor, ast.BitAnd, ast.UAdd, ast.USub,
    ast.Not, ast.Invert, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn,
})
_REFUSED: dict[type, str] = {
    ast.Import: "import is not allowed",
    ast.ImportFrom: "import is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.FunctionDef: "def (function definitions) is not allowed",
    ast.AsyncFunctionDef: "def (function definitions) is not allowed",
    ast.ClassDef: "class definitions are not allowed",
    ast.While: "while loops are not allowed: use a for loop over a list or range()",
    ast.With: "with is not allowed",
    ast.AsyncWith: "with is not allowed",
    ast.Try: "try is not allowed",
    ast.TryStar: "try is not allowed",
    ast.Raise: "raise is not allowed",
    ast.Assert: "assert is not allowed",
    ast.Global: "global is not allowed",
    ast.Nonlocal: "nonlocal is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Await: "await is not allowed",
    ast.AsyncFor: "async for is not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.AnnAssign: "annotated assignments are not allowed",
    ast.Match: "match statements are not allowed",
    ast.Starred: "* unpacking is not allowed",
    ast.MatMult: "the @ operator is not allowed",
}
_DIGITS = re.compile(r"\d+")


def _number(node: ast.expr) -> int | float | None:
    """The value of a numeric literal, including a signed one (`-5` is UnaryOp(USub, 5) in the AST)."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return sign * node.value
    return None


def _call(helper: str, args: list[ast.expr], node: ast.AST, keywords: list[ast.keyword] | None = None) -> ast.Call:
    call = ast.Call(func=ast.Name(id=_PREFIX + helper, ctx=ast.Load()), args=args, keywords=keywords or [])
    return ast.copy_location(call, node)


def _fold(helper: Callable[[Any, Any], Any], left: Any, right: Any) -> Any:
    """Compute a literal-only operation at compile time (`10**6`), under a throwaway budget."""
    token = _BUDGET.set(_Budget())
    try:
        return helper(left, right)
    finally:
        _BUDGET.reset(token)


class _Sandboxer(ast.NodeTransformer):
    """Refuses everything outside the allow-list and rewrites risky operations into bounded helpers."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.line: int | None = None

    def refuse(self, detail: str, node: ast.AST | None = None) -> SandboxViolation:
        line = getattr(node, "lineno", None) or self.line
        return SandboxViolation(detail, expression=self.text, line=line)

    def visit(self, node: ast.AST) -> Any:
        kind = type(node)
        self.line = getattr(node, "lineno", None) or self.line
        if kind not in _ALLOWED_NODES:
            raise self.refuse(_REFUSED.get(kind, f"{kind.__name__} is not allowed"), node)
        return super().visit(node)

    def check_name(self, name: str, node: ast.AST, what: str = "name") -> None:
        if name.startswith("_"):
            raise self.refuse(f"{what} '{name}' is not allowed: names starting with '_' are reserved", node)

    def visit_Name(self, node: ast.Name) -> ast.Name:
        self.check_name(node.id, node)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.visit(node.value)  # report the innermost offence first: ().__class__.__mro__ names __class__
        self.check_name(node.attr, node, "attribute")
        raise self.refuse(f"attribute '{node.attr}' is not allowed: read values with x['key'] and call only "
                          "allowed methods", node)

    def visit_keyword(self, node: ast.keyword) -> ast.keyword:
        if node.arg is None:
            raise self.refuse("** unpacking is not allowed", node)
        self.check_name(node.arg, node, "keyword")
        node.value = self.visit(node.value)
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.Dict:
        if any(key is None for key in node.keys):
            raise self.refuse("** unpacking is not allowed", node)
        return self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> ast.Call:
        func = node.func
        if isinstance(func, ast.Name):
            self.check_name(func.id, func)
            if func.id not in ALLOWED_FUNCTIONS:
                raise self.refuse(f"function '{func.id}' is not allowed; allowed functions: "
                                  f"{', '.join(sorted(ALLOWED_FUNCTIONS))}", func)
            args = [self.visit(arg) for arg in node.args]
            keywords = [self.visit(keyword) for keyword in node.keywords]
            return _call(f"fn_{func.id}", args, node, keywords)
        if isinstance(func, ast.Attribute):
            receiver = self.visit(func.value)
            self.check_name(func.attr, func, "attribute")
            if func.attr in ("format", "format_map"):
                raise self.refuse(f"attribute '{func.attr}' is not allowed: format strings can reach object "
                                  "attributes; use an f-string", func)
            if func.attr not in ALLOWED_METHODS:
                raise self.refuse(f"attribute '{func.attr}' is not allowed: not an allowed method", func)
            args = [self.visit(arg) for arg in node.args]
            keywords = [self.visit(keyword) for keyword in node.keywords]
            return _call("method", [receiver, ast.Constant(func.attr), *args], node, keywords)
        raise self.refuse("only allowed functions and methods can be called", node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        if isinstance(node.op, ast.Pow) and not self.small_exponent(node.right):
            raise self.refuse(f"the exponent of ** must be a number literal between -{MAX_EXPONENT} and "
                              f"{MAX_EXPONENT}", node)
        self.generic_visit(node)
        entry = _BINARY.get(type(node.op))
        if entry is None:
            return node
        left, right = _number(node.left), _number(node.right)
        if left is not None and right is not None:
            try:
                return ast.copy_location(ast.Constant(_fold(entry[1], left, right)), node)
            except SandboxViolation as err:
                raise self.refuse(err.detail, node) from None
            except (ArithmeticError, ValueError, TypeError):
                pass  # leave it to run time, which raises the same error where Python would
        return _call(entry[1].__name__.lstrip("_"), [node.left, node.right], node)

    @staticmethod
    def small_exponent(node: ast.expr) -> bool:
        value = _number(node)
        return value is not None and abs(value) <= MAX_EXPONENT

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        entry = _BINARY.get(type(node.op))
        if entry is None:
            return self.generic_visit(node)
        if isinstance(node.op, ast.Pow) and not self.small_exponent(node.value):
            raise self.refuse(f"the exponent of **= must be a number literal between -{MAX_EXPONENT} and "
                              f"{MAX_EXPONENT}", node)
        if any(isinstance(child, ast.Call) for child in ast.walk(node.target)):
            raise self.refuse("augmented assignment to a target that calls a function is not allowed; "
                              "compute the key first", node)
        target = self.visit(node.target)
        value = self.visit(node.value)
        current = copy.deepcopy(target)
        current.ctx = ast.Load()
        assign = ast.Assign(targets=[target], value=_call("augment", [ast.Constant(entry[0]), current, value], node))
        return ast.copy_location(assign, node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        node.value = self.visit(node.value)
        if not isinstance(node.slice, ast.Slice):
            node.slice = self.visit(node.slice)
            return node
        if isinstance(node.ctx, ast.Store):
            raise self.refuse("assigning to a slice is not allowed", node)
        bounds = [ast.Constant(None) if part is None else self.visit(part)
                  for part in (node.slice.lower, node.slice.upper, node.slice.step)]
        if isinstance(node.ctx, ast.Load):
            return _call("slice", [node.value, *bounds], node)
        node.slice = ast.copy_location(ast.Slice(*bounds), node.slice)
        return node

    def visit_Slice(self, node: ast.Slice) -> ast.Slice:
        raise self.refuse("multi-dimensional slicing is not allowed", node)

    def visit_For(self, node: ast.For) -> ast.For:
        self.generic_visit(node)
        node.iter = _call("iterate", [node.iter], node.iter)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.comprehension:
        if node.is_async:
            raise self.refuse("async comprehensions are not allowed", node.iter)
        self.generic_visit(node)
        node.iter = _call("iterate", [node.iter], node.iter)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.Call:
        template: list[Any] = []
        values: list[ast.expr] = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                template.append(part.value)
                continue
            if not isinstance(part, ast.FormattedValue):
                raise self.refuse(f"{type(part).__name__} is not allowed in an f-string", node)
            spec, padding = self.format_spec(part.format_spec)
            values.append(self.visit(part.value))
            template.append((part.conversion, spec, padding))
        tuple_node = ast.Tuple(elts=values, ctx=ast.Load())
        return _call("fstring", [ast.Constant(tuple(template)), tuple_node], node)

    def format_spec(self, node: ast.expr | None) -> tuple[str, int]:
        """Constant specs only (`,.2f`, `>10`, `%Y-%m-%d`); nested `{width}` specs could ask for any size."""
        if node is None:
            return "", 0
        parts = node.values if isinstance(node, ast.JoinedStr) else [node]
        if not all(isinstance(part, ast.Constant) and isinstance(part.value, str) for part in parts):
            raise self.refuse("f-string format specs must be constant", node)
        spec = "".join(part.value for part in parts)  # type: ignore[union-attr]
        numbers = [int(digits) for digits in _DIGITS.findall(spec)]
        if len(spec) > MAX_FORMAT_SPEC or any(number > MAX_FORMAT_WIDTH for number in numbers):
            raise self.refuse(f"f-string format spec '{spec[:40]}' is too large (at most {MAX_FORMAT_SPEC} "
                              f"characters and widths up to {MAX_FORMAT_WIDTH})", node)
        return spec, sum(numbers)


# --- compiling ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Compiled:
    code: types.CodeType
    plain: bool  # no helpers and no nested scopes: eval straight against the task data, no copies
    functions: dict[str, Any]  # allowed functions the code names as values (`key=len`); task data may shadow them
    helpers: dict[str, Any]  # the helpers it calls, plus the empty __builtins__; nothing may shadow these
    metered: bool  # something it names may spend the run's budget


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _parse(mode: str, text: Any) -> ast.AST:
    if not isinstance(text, str):
        raise SandboxViolation(f"expected Python text, got {type(text).__name__}")
    if len(text) > MAX_SOURCE_CHARS:
        raise SandboxViolation(f"the text is longer than {MAX_SOURCE_CHARS} characters", line=1)
    try:
        return ast.parse(text, filename=_FILENAME, mode=mode)
    except SyntaxError as err:
        raise SandboxViolation(f"invalid syntax: {err.msg}", expression=text, line=err.lineno) from None
    except (RecursionError, MemoryError):
        raise SandboxViolation("the text is nested too deeply", expression=text, line=None) from None
    except ValueError as err:  # e.g. NUL bytes
        raise SandboxViolation(f"invalid text: {err}", expression=text, line=None) from None


@functools.lru_cache(maxsize=4096)
def _compile(mode: str, text: str) -> _Compiled:
    tree = _parse(mode, text)
    try:
        tree = ast.fix_missing_locations(_Sandboxer(text).visit(tree))
        code = compile(tree, _FILENAME, mode, dont_inherit=True)
    except SyntaxError as err:  # e.g. 'break' outside loop, found only by the compiler
        raise SandboxViolation(f"invalid syntax: {err.msg}", expression=text, line=err.lineno) from None
    except (RecursionError, MemoryError):
        raise SandboxViolation("the text is nested too deeply", expression=text, line=None) from None
    names = _names(code)
    called = {name: _HELPERS[name] for name in names if name in _HELPERS}
    functions = {name: _FUNCTIONS[name] for name in names if name in _FUNCTIONS}
    plain = not called and not any(isinstance(const, types.CodeType) for const in code.co_consts)
    metered = any(value not in _UNMETERED for value in [*called.values(), *functions.values()])
    return _Compiled(code, plain, functions, {"__builtins__": {}, **called}, metered)


def compile_expression(text: str) -> types.CodeType:
    """Check and compile a condition or timer expression (eval mode). Raises `SandboxViolation`."""
    return _compile("eval", text).code


def compile_script(text: str) -> types.CodeType:
    """Check and compile a script task or pre/post script (exec mode). Raises `SandboxViolation`."""
    return _compile("exec", text).code


# --- names_used --------------------------------------------------------------------------------------------------


def names_used(text: str, mode: str = "eval") -> set[str]:
    """Variables the text reads before (possibly) assigning them, minus allowed functions: for a linter."""
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    _compile(mode, text)  # same errors as at run time
    tree = ast.parse(text, filename=_FILENAME, mode=mode)
    free: set[str] = set()
    if isinstance(tree, ast.Expression):
        _reads(tree.body, set(), free)
    else:
        _block(tree.body, set(), free)  # type: ignore[attr-defined]
    return free - ALLOWED_FUNCTIONS


def _reads(node: ast.AST, bound: set[str], free: set[str]) -> None:
    if isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id not in bound:
            free.add(node.id)
        return
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        inner = set(bound)
        for index, generator in enumerate(node.generators):
            _reads(generator.iter, bound if index == 0 else inner, free)  # the first iterable is outer scope
            _assign(generator.target, inner, free)
            for condition in generator.ifs:
                _reads(condition, inner, free)
        results = (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
        for result in results:
            _reads(result, inner, free)
        return
    for child in ast.iter_child_nodes(node):
        _reads(child, bound, free)


def _assign(target: ast.AST, bound: set[str], free: set[str]) -> None:
    if isinstance(target, ast.Name):
        bound.add(target.id)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            _assign(element, bound, free)
    else:
        _reads(target, bound, free)  # d[key] = …: reads d and key


def _block(statements: list[ast.stmt], bound: set[str], free: set[str]) -> None:
    """Walk statements in order; a name assigned on any branch counts as bound afterwards (no false alarms)."""
    for statement in statements:
        if isinstance(statement, ast.Assign):
            _reads(statement.value, bound, free)
            for target in statement.targets:
                _assign(target, bound, free)
        elif isinstance(statement, ast.AugAssign):
            _reads(statement.value, bound, free)
            if isinstance(statement.target, ast.Name):
                if statement.target.id not in bound:
                    free.add(statement.target.id)
                bound.add(statement.target.id)
            else:
                _reads(statement.target, bound, free)
        elif isinstance(statement, (ast.If, ast.For)):
            if isinstance(statement, ast.If):
                _reads(statement.test, bound, free)
                body = set(bound)
            else:
                _reads(statement.iter, bound, free)
                body = set(bound)
                _assign(statement.target, body, free)
            orelse = set(bound)
            _block(statement.body, body, free)
            _block(statement.orelse, orelse, free)
            bound |= body | orelse
        elif isinstance(statement, ast.Delete):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    if target.id not in bound:
                        free.add(target.id)
                    bound.discard(target.id)
                else:
                    _reads(target, bound, free)
        else:
            _reads(statement, bound, free)


# --- the environment ---------------------------------------------------------------------------------------------


def _run(run: Callable[..., Any], compiled: _Compiled, scope: dict[str, Any], text: str) -> Any:
    """Run with a fresh budget; a violation found at run time gets the text and its line attached."""
    token = _BUDGET.set(_Budget()) if compiled.metered else None
    try:
        return run(compiled.code, scope)
    except SandboxViolation as err:
        if err.expression is None:
            lines = [line for frame, line in traceback.walk_tb(err.__traceback__)
                     if frame.f_code.co_filename == _FILENAME]
            err.expression, err.line = text, lines[-1] if lines else None
            err.extensions.update(expression=err.expression, line=err.line)
        raise
    finally:
        if token is not None:
            _BUDGET.reset(token)


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Spiff's `TaskDataEnvironment` contract on sandboxed, cached code: task data wins over allowed-function
    names (a field called `max` reads as data), while calls and helpers always resolve to the sandbox's own."""

    def __init__(self) -> None:
        super().__init__({"__builtins__": {}, **_FUNCTIONS})

    @staticmethod
    def _scope(compiled: _Compiled, context: dict[str, Any], external_context: dict[str, Any] | None) -> dict[str, Any]:
        # Spiff's precedence (task data > external context > functions), then the helpers on top of everything.
        if external_context:
            return {**compiled.functions, **external_context, **context, **compiled.helpers}
        return {**compiled.functions, **context, **compiled.helpers}

    def evaluate(
        self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None
    ) -> Any:
        compiled = _compile("eval", expression)
        if compiled.plain:  # names resolve in task data, then in globals, then in the empty builtins
            names = {**external_context, **context} if external_context else context
            return eval(compiled.code, self.globals, names)
        return _run(eval, compiled, self._scope(compiled, context, external_context), expression)

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        external_context = external_context or {}
        clash = external_context.keys() & context.keys()
        if clash:  # as Spiff's check_for_overwrite: the external value would silently replace task data
            raise ValueError(f"task data overwrites external names; rename these variables: {sorted(clash)}")
        compiled = _compile("exec", script)
        scope = self._scope(compiled, context, external_context)
        _run(exec, compiled, scope, script)  # on failure task data stays as it was
        for key in [key for key in context if key not in scope]:
            del context[key]  # `del x`
        for key, value in scope.items():
            if key.startswith("_") or key in external_context or callable(value):
                continue  # helpers, allowed functions and external values never land in task data
            context[key] = value
        return True


def make_script_engine() -> PythonScriptEngine:
    """The script engine every workflow gets (re-attach after deserializing: it is not serialized)."""
    return PythonScriptEngine(environment=SandboxEnvironment())
