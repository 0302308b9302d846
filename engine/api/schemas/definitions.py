"""Process definitions: list, versions, deploy, start."""

from __future__ import annotations

from typing import Any

from apiflask.fields import UploadFile
from pydantic import BaseModel, ConfigDict, Field

from engine.api.schemas.base import Body, Name, Out, Query, Timestamp


class DefinitionQuery(Query):
    key: Name | None = Field(None, description="only this process key")
    latest: bool = Field(False, description="only the latest version of each key")


class DeployIn(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    file: UploadFile = Field(description="the BPMN file (its process id is the key)")


class StartIn(Body):
    variables: dict[str, Any] | None = Field(None, description="the start data (the intake form)")
    business_key: str | None = Field(None, alias="businessKey", max_length=200,
                                     description="the project's number, unique in meaning to the caller")


class Definition(Out):
    id: int
    key: str
    version: int
    name: str | None
    file_name: str
    bpmn_sha256: str
    content_sha256: str = Field(description="SHA-256 of the BPMN and the form files it references")
    forms: list[str] = Field(description="form files snapshotted with this version")
    deployed_at: Timestamp | None
    deployed_by: str
    unchanged: bool = Field(description="true when the deploy found these exact bytes already deployed")


class DefinitionList(Out):
    items: list[Definition]
