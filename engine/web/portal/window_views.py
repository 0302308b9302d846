"""一窗受理: the front window's pages. A window clerk finds or enters the enterprise's profile (entered once),
registers an in-person application, scans and uploads its materials, records commitments signed on paper,
submits it — which records the applicant's trip — and makes the completeness decision. Later visits (补正 in
person, picking up a certificate) are recorded as further trips, so 最多跑一次 can be measured per application.
Only clerks of the `window` department may use these pages."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from engine.api.session import ctx, get_session, now, unit_of_work
from engine.bureau import applicants, uscc
from engine.bureau.catalog import current_catalog
from engine.documents.uploads import UploadRefused, check_files
from engine.errors import Conflict, Forbidden, FormInvalid
from engine.models import Application, HumanTask, HumanTaskStatus
from engine.portal import access, applications, commitments, intake, progress, steps, variants
from engine.portal.variables import current as current_variables
from engine.web.pages import calendar
from engine.web.portal import drafts
from engine.web.portal.applicant_views import PROFILE_FIELDS, project_fields
from engine.web.portal.common import (
    incoming_files,
    limits,
    store,
    store_in_one_transaction,
    upload_blueprint,
)

bp = upload_blueprint("window", __name__, {"upload", "answer"})


@bp.before_request
def _window_only() -> None:
    if g.get("principal") is not None and not access.is_window_clerk(g.principal):
        raise Forbidden(f"{g.principal.username} is not a clerk of the front window (window department)")


def _app(application_id: str) -> Application:
    return access.require_application(get_session(), g.principal, application_id)


def _url(app: Application) -> str:
    return url_for("window.application", application_id=app.id)


def _errors(exc: FormInvalid) -> dict[str, str]:
    return {e.field.split(".")[0]: e.message for e in exc.errors}


@bp.get("/window")
def index() -> Any:
    session = get_session()
    waiting = session.execute(select(Application, HumanTask).join(
        HumanTask, HumanTask.instance_id == Application.instance_id).where(
        HumanTask.bpmn_id.in_([intake.TASK, *steps.STEPS]), HumanTask.status == HumanTaskStatus.OPEN)
        .order_by(HumanTask.created_at)).all()
    drafts_ = session.scalars(select(Application).where(Application.channel == "window",
                                                        Application.status == applications.DRAFT)
                              .order_by(Application.created_at.desc()).limit(50)).all()
    return render_template("window/index.html", waiting=waiting, drafts=drafts_, steps=steps.STEPS,
                           decision_task=intake.TASK)


@bp.get("/window/enterprise")
def enterprise() -> Any:
    raw = (request.args.get("code") or "").strip()
    try:
        code = uscc.validate(raw)
    except uscc.InvalidCreditCode as exc:
        flash(f"统一社会信用代码：{exc.message_zh}", "error")
        return redirect(url_for("window.index"))
    session = get_session()
    found = applicants.find_profile(session, code)
    apps = applications.for_enterprise(session, code) if found else []
    return render_template("window/enterprise.html", code=code, profile=found,
                           values=found.to_json() if found else {"credit_code": code}, errors={}, apps=apps)


@bp.post("/window/enterprise")
def enterprise_post() -> Any:
    data = {k: (request.form.get(k) or "").strip() for k in PROFILE_FIELDS}
    data = {k: v for k, v in data.items() if v}
    try:
        out = unit_of_work(lambda: applicants.submit_profile(get_session(), ctx().forms_dir, data,
                                                             actor=g.principal.username, now=now()))()
    except FormInvalid as exc:
        code = data.get("credit_code", "")
        return render_template("window/enterprise.html", code=code, profile=None, values=data,
                               errors=_errors(exc), apps=[]), 422
    flash("单位基本信息已保存（一次录入，全程复用）。" if out.created else "单位基本信息已更新。")
    return redirect(url_for("window.enterprise", code=out.credit_code))


def _apply_page(code: str, values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    catalog = current_catalog(get_session(), ctx().processes_dir)
    return render_template("portal/apply.html", values=values, errors=errors, kinds=variants.KINDS,
                           districts=variants.DISTRICTS, zones=list(catalog.zones.values()), action="window",
                           credit_code=code), status


@bp.get("/window/apply")
def apply() -> Any:
    code = uscc.normalize(request.args.get("code") or "")
    if applicants.find_profile(get_session(), code) is None:
        flash("请先录入申请单位的基本信息。", "error")
        return redirect(url_for("window.index"))
    return _apply_page(code, {}, {})


@bp.post("/window/apply")
def apply_post() -> Any:
    code = uscc.normalize(request.form.get("credit_code") or "")
    if applicants.find_profile(get_session(), code) is None:
        flash("请先录入申请单位的基本信息。", "error")
        return redirect(url_for("window.index"))
    values = project_fields(request.form)
    try:
        app = unit_of_work(lambda: applications.create(get_session(), ctx(), code, values, channel="window",
                                                       actor=g.principal.username, now=now()))()
    except FormInvalid as exc:
        return _apply_page(code, values, _errors(exc), 422)
    flash(f"已登记窗口申请 {app.number}，请扫描上传申请人带来的材料。")
    return redirect(_url(app))


@bp.get("/window/applications/<application_id>")
def application(application_id: str) -> Any:
    app = _app(application_id)
    if app.status == applications.DRAFT:
        return drafts.render_draft(app, mode="window")
    return _render_submitted(app)


def _render_submitted(app: Application, *, values: dict[str, Any] | None = None,
                      errors: dict[str, str] | None = None, status: int = 200) -> Any:
    session = get_session()
    check = intake.pending_check(session, ctx(), app)
    signed = applications.commitment_rows(session, app)
    promised = next((c for c in signed if c.kind == "rongque"), None)
    if values is None and check is not None:
        names = {m.code: m.name for m in applications.requirements(session, ctx(), app, now()).materials}
        values = {"missing_secondary": check.missing_secondary,
                  "rongque_due_wd": promised.due_wd if promised else None,
                  "corrections": "\n".join(f"补交{names.get(c, c)}（{c}）" for c in check.missing_primary)}
    view = progress.progress(session, ctx(), app, calendar(), now())
    variables = current_variables(session, ctx(), app.instance_id) if app.instance_id else {}
    return render_template(
        "window/application.html", app=app, check=check, values=values or {}, errors=errors or {}, prog=view,
        req=applications.requirements(session, ctx(), app, now()), docs=applications.documents(session, app),
        wanted={s.bpmn_id: steps.wanted_materials(variables, s.bpmn_id) for s in view.applicant_steps},
        signed=signed, trips=applications.trips(session, app), decisions=intake.DECISIONS,
        trip_purposes=applications.TRIP_PURPOSES, profile=applicants.get_profile(session, app.credit_code)), status


@bp.post("/window/applications/<application_id>/files")
def upload(application_id: str) -> Any:
    app = _app(application_id)
    return drafts.upload(app, mode="window", channel="window", back=_url(app))


@bp.post("/window/applications/<application_id>/files/<document_id>/delete")
def remove_file(application_id: str, document_id: str) -> Any:
    app = _app(application_id)
    return drafts.remove(app, document_id, back=_url(app))


@bp.get("/window/applications/<application_id>/commitments/<kind>")
def commitment(application_id: str, kind: str) -> Any:
    app = _app(application_id)
    if kind not in commitments.KINDS or app.status != applications.DRAFT:
        return redirect(_url(app))
    return render_template("portal/commitment.html", mode="window", errors={}, **drafts.commitment_form(app, kind))


@bp.post("/window/applications/<application_id>/commitments/<kind>")
def sign(application_id: str, kind: str) -> Any:
    app = _app(application_id)
    try:
        row = drafts.sign(app, kind, signed_by=g.principal.username)
    except FormInvalid as exc:
        return render_template("portal/commitment.html", mode="window", errors=_errors(exc),
                               **drafts.commitment_form(app, kind)), 422
    except Conflict as exc:
        flash(exc.detail, "error")
        return redirect(url_for("window.commitment", application_id=app.id, kind=kind))
    flash(f"已登记申请人当面签署的《{commitments.KINDS[row.kind]}》（请将签字件扫描上传）。")
    return redirect(_url(app))


@bp.post("/window/applications/<application_id>/submit")
def submit(application_id: str) -> Any:
    app = _app(application_id)

    def run() -> None:
        session = get_session()
        fresh = session.get(Application, app.id)
        assert fresh is not None
        applications.submit(session, ctx(), fresh, actor=g.principal.username, now=now())
        applications.record_trip(session, fresh, purpose="intake", clerk=g.principal.username, now=now())

    try:
        unit_of_work(run)()
    except (Conflict, FormInvalid) as exc:
        flash(exc.detail, "error")
        return redirect(_url(app))
    flash("已提交并计为申请人本次到窗口办事（跑动 1 次）。材料核验完成后请作出受理决定。")
    return redirect(_url(app))


@bp.post("/window/applications/<application_id>/decision")
def decide(application_id: str) -> Any:
    app = _app(application_id)
    data = intake.form_data(request.form)
    try:
        label = unit_of_work(lambda: intake.decide(get_session(), ctx(), get_session().get(Application, app.id),
                                                   data, actor=g.principal.username, now=now()))()
    except FormInvalid as exc:
        flash(f"受理决定有 {len(exc.errors)} 处需要修改。", "error")
        values = {**data, "corrections": request.form.get("corrections") or ""}
        return _render_submitted(app, values=values, errors=_errors(exc), status=422)
    except Conflict as exc:
        flash(exc.detail, "error")
        return redirect(_url(app))
    flash(f"已作出受理决定：{label}。书面通知书将编号后发送给申请人。")
    return redirect(_url(app))


@bp.post("/window/applications/<application_id>/trips")
def trip(application_id: str) -> Any:
    app = _app(application_id)
    try:
        unit_of_work(lambda: applications.record_trip(
            get_session(), get_session().get(Application, app.id), purpose=request.form.get("purpose") or "",
            clerk=g.principal.username, now=now(), note=request.form.get("note")))()
    except FormInvalid as exc:
        flash("；".join(e.message for e in exc.errors), "error")
        return redirect(_url(app))
    flash("已登记申请人到窗口办事一次。")
    return redirect(_url(app))


@bp.post("/window/applications/<application_id>/steps/<task_id>")
def answer(application_id: str, task_id: str) -> Any:
    """The applicant brought the correction (or 容缺 material) in person: scan, register, count the trip."""
    app = _app(application_id)
    note = request.form.get("note") or ""
    try:
        files = check_files(incoming_files(), max_file_bytes=limits().max_file_bytes, max_files=limits().max_files)

        def run(on_write: Any) -> list[Any]:
            session = get_session()
            fresh = session.get(Application, app.id)
            title = steps.answer(session, ctx(), store(), fresh, task_id, files, note=note, action="supplied",
                                 limits=limits(), actor=g.principal.username, channel="window", now=now(),
                                 on_write=on_write)
            purpose = "correction" if title.startswith("补正") else "supply"
            applications.record_trip(session, fresh, purpose=purpose, clerk=g.principal.username, now=now())
            return applications.documents(session, fresh)

        store_in_one_transaction(run)
    except UploadRefused as exc:
        flash(exc.detail, "error")
        return _render_submitted(app, status=422)
    except (FormInvalid, Conflict) as exc:
        detail = "；".join(e.message for e in exc.errors) if isinstance(exc, FormInvalid) else exc.detail
        flash(detail, "error")
        return redirect(_url(app))
    flash("已登记申请人当面提交的材料，并计为一次到窗口办事。")
    return redirect(_url(app))
