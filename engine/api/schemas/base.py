"""Base classes and shared fields of the API schemas."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

MAX_PAGE = 200
MAX_INT = 2**31 - 1  # offsets, sequence numbers, counts: beyond this an integer is a mistake (and SQLite overflows)


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _json_integer(value: Any) -> Any:
    """JSON's integers: 5 and 5.0 (a number with no fraction is an integer in JSON Schema), never true or "5"."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


Int = Annotated[int, BeforeValidator(_json_integer)]  # an integer field of a strict JSON body


def int_between(low: int, high: int) -> Any:
    """`Int` within bounds, for optional fields (`int_between(0, 9) | None`): the bounds must come before the
    validator for pydantic to write them into the JSON Schema as minimum and maximum."""
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_json_integer)]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Name = Annotated[str, Field(max_length=200)]  # keys, ids, user names in query strings


class PageQuery(Query):
    offset: int = Field(0, ge=0, le=MAX_INT, description="rows to skip")
    limit: int = Field(50, ge=1, le=MAX_PAGE, description=f"rows to return (at most {MAX_PAGE})")


class Health(Out):
    status: str
