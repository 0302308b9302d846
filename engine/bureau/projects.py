"""Project codes (项目代码, as on the national investment-project platform): year · division · industry · type
(01 审批 government investment, 03 备案 enterprise filing) · serial; one per registered application."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.bureau.numbering import AREA_CODE, next_number
from engine.calendar import SHANGHAI
from engine.models import ProjectRegistration
from engine.services import core_rows

INDUSTRY = "47"  # GB/T 4754: 房屋建筑业
TYPES = {"government": "01", "commercial": "03"}


def register(session: Session, *, job_id: str, instance_id: str | None, credit_code: str, name: str,
             process_key: str, kind: str, now: datetime) -> str:
    existing = core_rows.first_by(session, ProjectRegistration, "job_id", job_id)
    if existing is not None:
        return existing.code
    year = now.astimezone(SHANGHAI).year
    code = f"{year}-{AREA_CODE}-{INDUSTRY}-{TYPES.get(kind, '03')}-{next_number(session, f'project:{year}'):06d}"
    core_rows.insert_new(session, ProjectRegistration(code=code, instance_id=instance_id, credit_code=credit_code,
                                                      name=name, process_key=process_key, registered_at=now,
                                                      job_id=job_id))
    return code
