"""网上办事大厅: the applicant's pages. An enterprise registers once (profile + sign-in), applies for a project
(the engine picks the process and lists the materials), uploads, signs commitments, submits, then follows the
project, answers what the process asks of it, withdraws, downloads notices and permits and rates the service.
Every page acts only on the signed-in enterprise's own applications (engine/portal/access.py)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from engine.api.session import ctx, get_session, now, unit_of_work
from engine.auth import accounts
from engine.bureau import applicants
from engine.bureau.catalog import current_catalog
from engine.documents.uploads import UploadRefused, check_files, size_text
from engine.errors import Conflict, EngineError, Forbidden, FormInvalid, InvalidInput
from engine.models import Application, Notification
from engine.portal import access, applications, commitments, enterprises, progress, ratings, steps, variants
from engine.portal.variables import current as current_variables
from engine.web import identity
from engine.web.pages import calendar
from engine.web.portal import drafts
from engine.web.portal.common import (
    incoming_files,
    limits,
    problems_of,
    store,
    store_in_one_transaction,
    upload_blueprint,
)

bp = upload_blueprint("portal", __name__, {"upload", "answer"})
PROFILE_FIELDS = ("credit_code", "name", "legal_representative", "contact_name", "contact_phone", "address", "email")


def _enterprise() -> str:
    code = enterprises.enterprise_of(get_session(), g.principal.username)
    if code is None:
        raise Forbidden(f"{g.principal.username} is not an enterprise account")
    return code


def _own(application_id: str) -> Application:
    return access.require_application(get_session(), g.principal, application_id, own=True)


def _errors(exc: FormInvalid) -> dict[str, str]:
    return {e.field.split(".")[0]: e.message for e in exc.errors}


def _url(app: Application) -> str:
    return url_for("portal.application", application_id=app.id)


# --- registration and profile -------------------------------------------------------------------------------


@bp.get("/portal/register")
def register() -> Any:
    if g.get("principal") is not None:
        return redirect(url_for("portal.home"))
    return render_template("portal/register.html", values={}, errors={})


@bp.post("/portal/register")
def register_post() -> Any:
    form = request.form
    values = {name: (form.get(name) or "").strip() for name in (*PROFILE_FIELDS, "username")}
    password = form.get("password") or ""
    errors: dict[str, str] = {}
    if password != (form.get("password2") or ""):
        errors["password2"] = "确认密码：两次输入的密码不一致"
    try:
        accounts.check_password(ctx(), password, values["username"])
    except InvalidInput as exc:
        errors["password"] = f"密码：{exc.detail}"
    profile = {k: v for k, v in values.items() if k in PROFILE_FIELDS and v}
    if not errors:
        try:
            out = unit_of_work(lambda: enterprises.register(get_session(), ctx(), profile,
                                                            username=values["username"], password=password,
                                                            now=now()))()
        except FormInvalid as exc:
            errors = _errors(exc)
        except (Conflict, InvalidInput) as exc:
            errors = {"credit_code" if isinstance(exc, enterprises.EnterpriseRegistered) else "username": exc.detail}
        else:
            identity.sign_in(accounts.get_user(get_session(), out.username))
            flash("注册成功：单位基本信息已保存，今后每个项目的每个审批事项都直接复用，无需重复提交。")
            return redirect(url_for("portal.home"))
    flash(f"注册信息有 {len(errors)} 处需要修改。", "error")
    return render_template("portal/register.html", values=values, errors=errors), 422


@bp.get("/portal")
def home() -> Any:
    session = get_session()
    code = enterprises.enterprise_of(session, g.principal.username)
    if code is None:  # an applicant account made by an operator: enter the enterprise once, here
        return render_template("portal/link.html", values={}, errors={})
    apps = applications.for_enterprise(session, code)
    trips = applications.trip_counts(session, [a.id for a in apps])
    rows = [(a, progress.progress(session, ctx(), a, calendar(), now()), trips.get(a.id, 0)) for a in apps]
    g.unmasked = True  # an enterprise sees its own phone numbers
    return render_template("portal/home.html", profile=applicants.get_profile(session, code), rows=rows)


@bp.post("/portal/enterprise")
def link() -> Any:
    values = {name: (request.form.get(name) or "").strip() for name in PROFILE_FIELDS}
    try:
        unit_of_work(lambda: enterprises.link(get_session(), ctx(), g.principal.username,
                                              {k: v for k, v in values.items() if v}, now=now()))()
    except FormInvalid as exc:
        return render_template("portal/link.html", values=values, errors=_errors(exc)), 422
    except Conflict as exc:
        return render_template("portal/link.html", values=values, errors={"credit_code": exc.detail}), 409
    flash("已关联单位：基本信息已保存，今后每个项目的每个审批事项都直接复用。")
    return redirect(url_for("portal.home"))


@bp.get("/portal/profile")
def profile() -> Any:
    g.unmasked = True
    values = applicants.get_profile(get_session(), _enterprise()).to_json()
    return render_template("portal/profile.html", values=values, errors={})


@bp.post("/portal/profile")
def profile_post() -> Any:
    g.unmasked = True
    code = _enterprise()
    data = {k: (request.form.get(k) or "").strip() for k in PROFILE_FIELDS if k != "credit_code"}
    data = {k: v for k, v in data.items() if v} | {"credit_code": code}
    try:
        out = unit_of_work(lambda: applicants.submit_profile(get_session(), ctx().forms_dir, data,
                                                             actor=g.principal.username, now=now()))()
    except FormInvalid as exc:
        return render_template("portal/profile.html", values=data, errors=_errors(exc)), 422
    flash("单位信息已更新：" + ("、".join(out.changed) if out.changed else "没有变化") + "。各审批事项自动使用最新信息。")
    return redirect(url_for("portal.home"))


# --- applying ------------------------------------------------------------------------------------------------


def _apply_page(values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    catalog = current_catalog(get_session(), ctx().processes_dir)
    return render_template("portal/apply.html", values=values, errors=errors, kinds=variants.KINDS,
                           districts=variants.DISTRICTS, zones=list(catalog.zones.values()), action="portal"), status


@bp.get("/portal/apply")
def apply() -> Any:
    _enterprise()
    return _apply_page({}, {})


def project_fields(form: Any) -> dict[str, Any]:
    """The project form's values, numbers as integers (text left as is so the checker names the field)."""
    values: dict[str, Any] = {k: (form.get(k) or "").strip() for k in variants.APPLICATION_SCHEMA["properties"]}
    for name in ("building_area_m2", "investment_wan"):
        raw = values[name].replace(",", "")
        values[name] = int(raw) if raw.isdigit() else raw
    return values


@bp.post("/portal/apply")
def apply_post() -> Any:
    code = _enterprise()
    values = project_fields(request.form)
    try:
        app = unit_of_work(lambda: applications.create(get_session(), ctx(), code, values, channel="online",
                                                       actor=g.principal.username, now=now()))()
    except FormInvalid as exc:
        return _apply_page(values, _errors(exc), 422)
    flash(f"已创建申请 {app.number}：系统按项目类型选定“{variants.KINDS[app.kind][1]}”流程，下面列出需要提交的材料。")
    return redirect(_url(app))


# --- one application ----------------------------------------------------------------------------------------


@bp.get("/portal/applications/<application_id>")
def application(application_id: str) -> Any:
    app = _own(application_id)
    if app.status == applications.DRAFT:
        return drafts.render_draft(app, mode="portal")
    return _render_progress(app)


def _render_progress(app: Application, status: int = 200) -> Any:
    session = get_session()
    view = progress.progress(session, ctx(), app, calendar(), now())
    g.unmasked = True
    return render_template(
        "portal/application.html", app=app, prog=view, docs=applications.documents(session, app),
        signed=applications.commitment_rows(session, app), trips=applications.trips(session, app),
        rating=ratings.rating(session, app), levels=ratings.LEVELS, can_withdraw=steps.can_withdraw(session, app),
        trip_purposes=applications.TRIP_PURPOSES), status


@bp.post("/portal/applications/<application_id>/files")
def upload(application_id: str) -> Any:
    app = _own(application_id)
    return drafts.upload(app, mode="portal", channel="online", back=_url(app))


@bp.post("/portal/applications/<application_id>/files/<document_id>/delete")
def remove_file(application_id: str, document_id: str) -> Any:
    app = _own(application_id)
    return drafts.remove(app, document_id, back=_url(app))


@bp.get("/portal/applications/<application_id>/commitments/<kind>")
def commitment(application_id: str, kind: str) -> Any:
    app = _own(application_id)
    if kind not in ("rongque", "notify_commit") or app.status != applications.DRAFT:
        return redirect(_url(app))
    return render_template("portal/commitment.html", mode="portal", errors={}, **drafts.commitment_form(app, kind))


@bp.post("/portal/applications/<application_id>/commitments/<kind>")
def sign(application_id: str, kind: str) -> Any:
    app = _own(application_id)
    try:
        row = drafts.sign(app, kind, signed_by=g.principal.username)
    except FormInvalid as exc:
        return render_template("portal/commitment.html", mode="portal", errors=_errors(exc),
                               **drafts.commitment_form(app, kind)), 422
    except Conflict as exc:
        flash(exc.detail, "error")
        return redirect(url_for("portal.commitment", application_id=app.id, kind=kind))
    flash(f"已签署《{commitments.KINDS[row.kind]}》，签署记录（含全文摘要）已留存，提交后写入办理历史。")
    return redirect(_url(app))


@bp.post("/portal/applications/<application_id>/submit")
def submit(application_id: str) -> Any:
    app = _own(application_id)
    try:
        unit_of_work(lambda: applications.submit(get_session(), ctx(), get_session().get(Application, app.id),
                                                 actor=g.principal.username, now=now()))()
    except (Conflict, FormInvalid, EngineError) as exc:
        flash(exc.detail, "error")
        return redirect(_url(app))
    flash("申请已提交：全程网上办理，无需到窗口。受理结果将通过短信和电子邮件通知您。")
    return redirect(_url(app))


@bp.get("/portal/applications/<application_id>/steps/<task_id>")
def step(application_id: str, task_id: str) -> Any:
    app = _own(application_id)
    return _render_step(app, task_id)


def _render_step(app: Application, task_id: str, *, problems: dict[str, Any] | None = None,
                 errors: dict[str, str] | None = None, status: int = 200) -> Any:
    session = get_session()
    waiting = {s.task_id: s for s in steps.open_steps(session, app)}
    current = waiting.get(task_id)
    if current is None:
        flash("这一步已办理或不需要您办理。", "error")
        return redirect(_url(app))
    view = progress.progress(session, ctx(), app, calendar(), now())
    req = applications.requirements(session, ctx(), app, now())
    variables = current_variables(session, ctx(), app.instance_id) if app.instance_id else {}
    return render_template("portal/step.html", app=app, step=current, prog=view, req=req, problems=problems or {},
                           highlight=steps.wanted_materials(variables, current.bpmn_id),
                           errors=errors or {}, mode="portal",
                           max_size=size_text(limits().max_file_bytes)), status


@bp.post("/portal/applications/<application_id>/steps/<task_id>")
def answer(application_id: str, task_id: str) -> Any:
    app = _own(application_id)
    action = request.form.get("action") or "supplied"
    note = request.form.get("note") or ""
    try:
        files = check_files(incoming_files(), max_file_bytes=limits().max_file_bytes,
                            max_files=limits().max_files) if action == "supplied" else []
        titles: list[str] = []

        def run(on_write: Any) -> list[Any]:
            session = get_session()
            titles.append(steps.answer(session, ctx(), store(), session.get(Application, app.id), task_id, files,
                                       note=note, action=action, limits=limits(), actor=g.principal.username,
                                       channel="online", now=now(), on_write=on_write))
            return applications.documents(session, session.get(Application, app.id))

        store_in_one_transaction(run)
    except UploadRefused as exc:
        flash(exc.detail, "error")
        return _render_step(app, task_id, problems=problems_of(exc), status=422)
    except FormInvalid as exc:
        flash("；".join(e.message for e in exc.errors), "error")
        return _render_step(app, task_id, errors=_errors(exc), status=422)
    except Conflict as exc:
        flash(exc.detail, "error")
        return redirect(_url(app))
    flash(f"已提交“{titles[-1]}”。" + ("窗口将据此重新核验材料。" if action == "supplied" else ""))
    return redirect(_url(app))


@bp.get("/portal/applications/<application_id>/withdraw")
def withdraw(application_id: str) -> Any:
    app = _own(application_id)
    return render_template("portal/withdraw.html", app=app, errors={}, values={})


@bp.post("/portal/applications/<application_id>/withdraw")
def withdraw_post(application_id: str) -> Any:
    app = _own(application_id)
    values = {"reason": request.form.get("reason") or "", "confirmed": request.form.get("confirmed") == "on"}
    try:
        unit_of_work(lambda: steps.withdraw(get_session(), ctx(), get_session().get(Application, app.id),
                                            reason=values["reason"], confirmed=bool(values["confirmed"]),
                                            actor=g.principal.username, now=now()))()
    except FormInvalid as exc:
        return render_template("portal/withdraw.html", app=app, errors=_errors(exc), values=values), 422
    except Conflict as exc:
        flash(exc.detail, "error")
        return redirect(_url(app))
    if app.status == applications.DRAFT:
        flash(f"草稿 {app.number} 已删除。")
        return redirect(url_for("portal.home"))
    flash("已撤回申请，审批程序终止；《撤回申请确认书》将发送给您。")
    return redirect(_url(app))


@bp.post("/portal/applications/<application_id>/rating")
def rate(application_id: str) -> Any:
    app = _own(application_id)
    session = get_session()
    finished = progress.progress(session, ctx(), app, calendar(), now()).finished
    try:
        unit_of_work(lambda: ratings.rate(get_session(), app, score=request.form.get("score"),
                                          comment=request.form.get("comment") or "", finished=finished,
                                          actor=g.principal.username, now=now()))()
    except (FormInvalid, Conflict) as exc:
        detail = "；".join(e.message for e in exc.errors) if isinstance(exc, FormInvalid) else exc.detail
        flash(detail, "error")
        return redirect(_url(app))
    flash("感谢您的评价。")
    return redirect(_url(app))


@bp.get("/portal/messages")
def messages() -> Any:
    from sqlalchemy import select

    code = _enterprise()
    rows = get_session().scalars(select(Notification).where(Notification.credit_code == code)
                                 .order_by(Notification.created_at.desc(), Notification.id).limit(200)).all()
    g.unmasked = True
    return render_template("portal/messages.html", rows=rows)
