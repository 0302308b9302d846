"""Applicant profiles: validated (check character included) with Chinese field messages, stored once per
applicant, updated in place, every submission counted; bad input changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.bureau import applicants
from engine.bureau.errors import ApplicantNotFound
from engine.clock import SimulatedClock
from engine.errors import FormInvalid
from engine.models import Applicant, ProfileSubmission
from engine.services.commands import run_command
from tests.bureau.support import credit_code, profile
from tests.conftest import engine_state


def _submit(app: Flask, data: object) -> applicants.ProfileOut:
    state = engine_state(app)
    return run_command(state.sessions, lambda s: applicants.submit_profile(
        s, state.ctx.forms_dir, data, actor="applicant", now=state.clock.now()))


def _count(app: Flask, model: type) -> int:
    with engine_state(app).sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_first_submission_creates_the_profile_and_counts_one(app: Flask) -> None:
    code = credit_code(1)
    out = _submit(app, profile(code.lower()))
    assert (out.credit_code, out.created, out.submissions) == (code, True, 1)
    assert set(out.changed) == {"name", "legal_representative", "contact_name", "contact_phone", "address"}
    with engine_state(app).sessions() as s:
        assert applicants.get_profile(s, code).as_task_data()["name"] == "呼和浩特示范置业有限公司"


def test_a_change_updates_the_same_row_and_counts_again(app: Flask, clock: SimulatedClock) -> None:
    code = credit_code(2)
    _submit(app, profile(code))
    clock.advance(timedelta(days=30))
    out = _submit(app, profile(code, contact_phone="0471-6660001"))
    assert (out.created, out.submissions, out.changed) == (False, 2, ["contact_phone"])
    assert _count(app, Applicant) == 1
    with engine_state(app).sessions() as s:
        assert applicants.submission_counts(s) == {code: 2}


def test_a_wrong_check_character_is_a_field_error_in_chinese_and_stores_nothing(app: Flask) -> None:
    code = credit_code(3)
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    with pytest.raises(FormInvalid) as error:
        _submit(app, profile(wrong))
    fields = {e.field: e.message for e in error.value.errors}
    assert fields["credit_code"].startswith("统一社会信用代码：统一社会信用代码校验位错误（应为 ")
    assert (_count(app, Applicant), _count(app, ProfileSubmission)) == (0, 0)


def test_missing_and_malformed_fields_are_named(app: Flask) -> None:
    data = profile(credit_code(4), contact_phone="12345")
    del data["legal_representative"]
    with pytest.raises(FormInvalid) as error:
        _submit(app, data)
    fields = {e.field: e.message for e in error.value.errors}
    assert fields["legal_representative"] == "法定代表人：此项为必填项"
    assert fields["contact_phone"] == "联系电话：格式不正确"
    assert _count(app, Applicant) == 0


def test_an_unknown_applicant_is_not_found(app: Flask) -> None:
    with engine_state(app).sessions() as s, pytest.raises(ApplicantNotFound):
        applicants.get_profile(s, credit_code(5))
