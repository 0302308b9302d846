"""Base classes and shared fields of the API schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MAX_PAGE = 200
MAX_INT = 2**31 - 1  # offsets, sequence numbers, counts: beyond this an integer is a mistake (and SQLite overflows)


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Name = Annotated[str, Field(max_length=200)]  # keys, ids, user names in query strings


class PageQuery(Query):
    offset: int = Field(0, ge=0, le=MAX_INT, description="rows to skip")
    limit: int = Field(50, ge=1, le=MAX_PAGE, description=f"rows to return (at most {MAX_PAGE})")


class Health(Out):
    status: str
