"""What handler modules declare: topics mapped to plain typed functions, their retry policy, the two error intents.

A handler's parameters are job variables by name; a parameter annotated `JobContext` receives the context; a
parameter annotated with a dataclass is built from the variable of that name (a JSON object) or, if there is
none, from the job's variables. The return value (a dict, or None) becomes the result variables.
`BpmnError` is a business outcome for an error boundary and is never retried; any other exception is a
technical failure, retried per the handler's `RetryPolicy` (STYLE.md §5).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

TOPIC_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
F = TypeVar("F", bound=Callable[..., Any])


class BpmnError(Exception):
    """A business outcome: goes to the error boundary event attached to the service task; never retried."""

    def __init__(self, code: str, message: str = "", variables: Mapping[str, Any] | None = None) -> None:
        if not isinstance(code, str) or not code.strip():
            raise ValueError("a BpmnError needs a non-empty error code")
        super().__init__(f"{code}: {message}" if message else code)
        self.code, self.message, self.variables = code, message, dict(variables or {})


class DuplicateTopic(ValueError):
    """Two handlers for one topic: raised when the second is registered (at import time)."""


class HandlerInputError(TypeError):
    """The job's variables do not fit the handler's parameters (a technical failure: retried, then incident)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How a handler's technical failures are retried. `retries` counts runs after the first one."""

    retries: int = 3
    initial_delay: timedelta = timedelta(seconds=30)
    backoff: float = 2.0
    max_delay: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"retries must be an integer >= 0, not {self.retries!r}")
        if self.initial_delay < timedelta(0) or self.max_delay < self.initial_delay:
            raise ValueError("delays must satisfy 0 <= initial_delay <= max_delay")
        if self.backoff < 1:
            raise ValueError(f"backoff must be >= 1, not {self.backoff!r}")

    def next_delay(self, attempt: int) -> timedelta | None:
        """The wait before the next run after run number `attempt` (1 = the first run) failed:

            delay = min(initial_delay * backoff ** (attempt - 1), max_delay)

        or None when `attempt` > `retries` (the policy has no retry left).
        """
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, not {attempt}")
        if attempt > self.retries:
            return None
        seconds = self.initial_delay.total_seconds() * self.backoff ** (attempt - 1)
        return min(timedelta(seconds=seconds), self.max_delay)


@dataclass(frozen=True)
class JobContext:
    """What a handler may know about its job besides the variables. `job_id` is the idempotency key: a job
    may run more than once (a worker died after the effect, before reporting), never with another id."""

    job_id: str
    topic: str
    instance_id: str = ""
    bpmn_id: str = ""
    business_key: str | None = None
    retries: int | None = None  # remaining retries on the job; None until a failure or the BPMN sets them
    failures: int = 0  # failures reported so far
    attempt: int = 1  # this run's number (lock expiries count as runs)
    lock_expires_at: datetime | None = None
    deps: Any = None  # the runner's dependencies (clients, registries): handlers get them here, not globally
    _extend: Callable[[timedelta], None] | None = field(default=None, repr=False, compare=False)

    def extend_lock(self, duration: timedelta) -> None:
        """Keep the job locked for `duration` from now (long-running handlers)."""
        if self._extend is None:
            raise RuntimeError("this JobContext is not attached to a worker")
        self._extend(duration)


def _is_dataclass_type(annotation: Any) -> bool:
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


@dataclass(frozen=True)
class Handler:
    topic: str
    fn: Callable[..., Any]
    retry: RetryPolicy | None
    lock_duration: timedelta | None
    _params: tuple[tuple[str, Any, bool], ...] = field(repr=False)  # (name, annotation, has default)
    _var_keyword: bool = field(default=False, repr=False)

    @classmethod
    def build(cls, topic: str, fn: Callable[..., Any], retry: RetryPolicy | None,
              lock_duration: timedelta | None) -> Handler:
        try:
            hints = typing.get_type_hints(fn)
        except (NameError, TypeError) as exc:
            raise TypeError(f"handler {fn.__qualname__} for {topic}: unresolvable annotations: {exc}") from exc
        params, var_keyword = [], False
        for param in inspect.signature(fn).parameters.values():
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                var_keyword = True
            elif param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY):
                raise TypeError(f"handler {fn.__qualname__} for {topic}: parameters must be named (job variables)")
            else:
                params.append((param.name, hints.get(param.name), param.default is not inspect.Parameter.empty))
        return cls(topic, fn, retry, lock_duration, tuple(params), var_keyword)

    def __call__(self, variables: Mapping[str, Any], ctx: JobContext) -> dict[str, Any]:
        """Bind the variables to the parameters, call, and check the result variables."""
        kwargs: dict[str, Any] = {}
        used = set()
        for name, annotation, has_default in self._params:
            if annotation is JobContext:
                kwargs[name] = ctx
            elif _is_dataclass_type(annotation):
                source = variables[name] if name in variables else variables
                if not isinstance(source, Mapping):
                    raise HandlerInputError(f"variable {name!r} must be an object for {annotation.__name__}")
                names = {f.name for f in dataclasses.fields(annotation)}
                try:
                    kwargs[name] = annotation(**{k: v for k, v in source.items() if k in names})
                except TypeError as exc:
                    raise HandlerInputError(f"cannot build {annotation.__name__} from the job: {exc}") from exc
                used.add(name)
            elif name in variables:
                kwargs[name] = variables[name]
                used.add(name)
            elif not has_default:
                raise HandlerInputError(f"the job has no variable {name!r} that {self.fn.__qualname__} needs")
        if self._var_keyword:
            kwargs.update({k: v for k, v in variables.items() if k not in used and k not in kwargs})
        result = self.fn(**kwargs)
        if result is None:
            return {}
        if not isinstance(result, Mapping) or not all(isinstance(k, str) for k in result):
            raise TypeError(f"{self.fn.__qualname__} must return a dict of result variables or None, "
                            f"not {type(result).__name__}")
        return dict(result)


class TaskRouter:
    """Handlers by topic. `@router.task("permit.issue", retry=RetryPolicy(...))` on a typed function;
    routers compose with `include_router`. A topic registered twice raises `DuplicateTopic`."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def task(self, topic: str, *, retry: RetryPolicy | None = None,
             lock_duration: timedelta | None = None) -> Callable[[F], F]:
        if not isinstance(topic, str) or not TOPIC_PATTERN.match(topic):
            raise ValueError(f"topic {topic!r} must be '<domain>.<action>' in lower snake case")
        if lock_duration is not None and lock_duration <= timedelta(0):
            raise ValueError("lock_duration must be positive")

        def register(fn: F) -> F:
            self._add(Handler.build(topic, fn, retry, lock_duration))
            return fn

        return register

    def include_router(self, other: TaskRouter) -> None:
        for handler in other:
            self._add(handler)

    def _add(self, handler: Handler) -> None:
        existing = self._handlers.get(handler.topic)
        if existing is not None and existing.fn is not handler.fn:
            raise DuplicateTopic(f"topic {handler.topic} is handled by both {existing.fn.__module__}."
                                 f"{existing.fn.__qualname__} and {handler.fn.__module__}.{handler.fn.__qualname__}")
        self._handlers[handler.topic] = handler

    def handler(self, topic: str) -> Handler | None:
        return self._handlers.get(topic)

    @property
    def topics(self) -> list[str]:
        return sorted(self._handlers)

    def __iter__(self) -> Iterator[Handler]:
        return iter(list(self._handlers.values()))

    def __len__(self) -> int:
        return len(self._handlers)
