"""The portal tests' world: both Hohhot processes deployed, in-process workers with the bureau's records and the
document publisher, clerks completing department tasks through the services on the test clock, and small
valid (and hostile) files to upload."""

from __future__ import annotations

import base64
import io
import re
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.bureau.deps import BureauDeps
from engine.bureau.notices import MemorySender
from engine.documents.publisher import DocumentPublisher
from engine.dto import TaskOut
from engine.models import Application
from engine.sdk import LocalBackend, WorkerRunner
from engine.services import human_tasks, timers
from engine.services.commands import run_command
from tests.bureau.support import credit_code
from tests.conftest import TEST_PASSWORD, Auth, engine_state
from tests.web.support import csrf_token

APPROVE = {"decision": "approve", "opinion": "同意"}
# Department forms' data (what clerks would enter), by form key.
FORM_DATA: dict[str, dict[str, Any]] = {
    "filing": {**APPROVE, "filing_no": "备2026-001"},
    "land_permit": {**APPROVE, "land_area_m2": 12000, "land_use": "commercial"},
    "investment_approval": {**APPROVE, "approved_investment_wan": 8000},
    "design_review": {**APPROVE, "expert_review": False},
    "review_opinion": APPROVE,
    "planning_permit": {**APPROVE, "building_area_m2": 36000},
    "cad_approval": {**APPROVE, "mode": "build", "shelter_area_m2": 3000},
    "eia": {**APPROVE, "category": "table"},
    "energy_review": {**APPROVE, "annual_energy_tce": 800},
    "water_permit": APPROVE,
    "drawing_review": {"decision": "approve", "opinion": "审查合格"},
    "fire_design": APPROVE,
    "construction_permit": {"decision": "approve", "opinion": "准予许可"},
    "permit_commitment": {"decision": "approve", "opinion": "据承诺准予许可", "commitment_signed": True},
    "public_notice": {"started_on": "2026-04-01", "ended_on": "2026-04-07", "objections": 0, "result": "无异议"},
    "post_check": {"commitment_true": True, "findings": "资金、合同均已落实", "checked_on": "2026-09-01"},
}
APPLICANT_SIDE = ("withdraw", "correction", "rongque_supply", "rongque_suspended", "design_revision",
                  "drawing_revision", "completeness_decision")
PROFILE = {"name": "呼和浩特示范置业有限公司", "legal_representative": "张建国", "contact_name": "李晓梅",
           "contact_phone": "13804710001", "address": "呼和浩特市赛罕区敕勒川大街1号", "email": "li@example.cn"}
PROJECT = {"project_name": "敕勒川商业综合体", "kind": "commercial", "district": "赛罕区",
           "address": "敕勒川大街与金桥路交叉口东北角", "building_area_m2": "36000", "investment_wan": "52000"}


class World:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.state = engine_state(app)
        self.sender = MemorySender()
        self.publisher = DocumentPublisher.from_settings(self.state.settings, self.state.ctx)
        self.deps = BureauDeps(self.state.sessions, self.state.ctx, self.state.clock, sender=self.sender,
                               publisher=self.publisher)
        import workers

        self.runner = WorkerRunner(self.state.settings, workers.ROUTERS, backend=LocalBackend(self.state),
                                   deps=self.deps, worker_id="test-worker", topics=["*"])

    def settle(self) -> None:
        """Run every claimable job and fire every due timer, until nothing moves."""
        while True:
            ran = self.runner.run_until_idle()
            fired = timers.fire_due(self.state.sessions, self.state.ctx, self.state.clock.now(), 100)
            if not ran and not fired.fired:
                return

    def application(self, number_or_id: str) -> Application:
        with self.state.sessions() as s:
            row = s.scalars(select(Application).where(
                (Application.id == number_or_id) | (Application.number == number_or_id))).one()
            return row

    def tasks(self, instance_id: str) -> dict[str, TaskOut]:
        with self.state.sessions() as s:
            return {t.bpmn_id: t for t in human_tasks.list_tasks(s, instance_id=instance_id, limit=200)}

    def complete(self, instance_id: str, bpmn_id: str, data: dict[str, Any] | None = None) -> None:
        task = self.tasks(instance_id)[bpmn_id]
        form = (task.form_key or "").removesuffix(".schema.json")
        values = data if data is not None else FORM_DATA[form]
        department = (task.candidate_groups or ["window"])[0]
        run_command(self.state.sessions, lambda s: human_tasks.complete(
            s, self.state.ctx, task.id, values, actor=f"clerk.{department}", now=self.state.clock.now()))
        self.settle()

    def work_departments(self, instance_id: str, *, until: str | None = None, limit: int = 200) -> None:
        """Departments complete their open tasks (default data) until only applicant-side ones are open, or
        `until` is open."""
        for _ in range(limit):
            open_ = sorted(t for t in self.tasks(instance_id) if t not in APPLICANT_SIDE)
            if until in self.tasks(instance_id) or not open_:
                return
            self.complete(instance_id, open_[0])
        raise AssertionError("tasks keep coming")


def enterprise(serial: int) -> dict[str, str]:
    return {"credit_code": credit_code(serial), **PROFILE}


def register(client: FlaskClient, serial: int, username: str, **changes: str) -> Any:
    token = csrf_token(client.get("/portal/register").get_data(as_text=True))
    data = {**enterprise(serial), "username": username, "password": TEST_PASSWORD, "password2": TEST_PASSWORD,
            "csrf_token": token, **changes}
    return client.post("/portal/register", data=data)


def token_of(client: FlaskClient, path: str) -> str:
    return csrf_token(client.get(path).get_data(as_text=True))


def window_clerk(auth: Auth) -> None:
    auth.user("clerk.window", "clerk", departments=("window",), display_name="赵静")


# --- files ---------------------------------------------------------------------------------------------------


def pdf_bytes(text: str = "material") -> bytes:
    body = f"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {text}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    return body.encode("ascii")


def png_bytes() -> bytes:
    return (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17 + b"\x00\x00\x00\x00IEND\xaeB`\x82")


def docx_bytes(*, macro: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        kind = "application/vnd.ms-word.document.macroEnabled.main+xml" if macro else "application/xml"
        z.writestr("[Content_Types].xml", f'<Types><Override ContentType="{kind}"/></Types>')
        z.writestr("word/document.xml", "<w:document/>")
        if macro:
            z.writestr("word/vbaProject.bin", b"\x00" * 16)
    return buffer.getvalue()


def exe_bytes() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode."


def pdf_strings(data: bytes) -> str:
    """The text drawn in a reportlab PDF: each literal string of its (inflated) content streams read both as
    Latin-1 (base-14 fonts) and as UTF-16BE (the STSong-Light CID font), so Chinese text can be asserted."""
    streams = []
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.DOTALL):
        raw = match.group(1).strip()
        try:  # reportlab's default filters: ASCII85, then Flate
            streams.append(zlib.decompress(base64.a85decode(raw, adobe=True)))
        except (ValueError, zlib.error):
            streams.append(raw)
    texts = []
    for stream in streams:
        for literal in re.finditer(rb"\((.*?)(?<!\\)\)\s*Tj", stream, re.DOTALL):
            raw = _unescape(literal.group(1))
            texts.append(raw.decode("latin-1"))  # the base-14 fonts (codes, URLs)
            if len(raw) % 2 == 0:  # the CID font writes UTF-16BE
                texts.append(raw.decode("utf-16-be", errors="replace"))
    return "\n".join(texts)


def _unescape(raw: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == 0x5C and i + 1 < len(raw):  # backslash
            nxt = raw[i + 1]
            if 0x30 <= nxt <= 0x37:
                digits = re.match(rb"[0-7]{1,3}", raw[i + 1:i + 4])
                assert digits is not None
                out.append(int(digits.group(0), 8))
                i += 1 + len(digits.group(0))
                continue
            out.append({ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return bytes(out)


Uploader = Callable[..., Any]


def text_of(html: str) -> str:
    """A page's <main> as plain text (for assertions and readable failure messages)."""
    main = html[html.find("<main"):html.find("</main>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)).strip()


def submit_online(app: Flask, world: World, serial: int, username: str, *, missing: tuple[str, ...] = (),
                  rongque: tuple[str, ...] = (), due_wd: int = 5) -> tuple[FlaskClient, str]:
    """Register, apply, upload every material but `missing`, sign a 容缺 commitment for `rongque`, submit and
    let the workers run: the applicant's client and the application's page path."""
    from engine.bureau.catalog import current_catalog
    from engine.portal import variants

    client = app.test_client()
    assert register(client, serial, username).status_code == 302
    path = client.post("/portal/apply", data={**PROJECT, "csrf_token": token_of(client, "/portal/apply")}).location
    with world.state.sessions() as s:
        catalog = current_catalog(s, world.state.ctx.processes_dir)
    codes = [m.code for m in variants.requirements(catalog, "commercial", None, None,
                                                   world.state.clock.now().date()).materials if m.code not in missing]
    data: dict[str, Any] = {"csrf_token": token_of(client, path)}
    data.update({f"file-{c}": (io.BytesIO(pdf_bytes(c)), f"{c}.pdf") for c in codes})
    assert client.post(f"{path}/files", data=data, content_type="multipart/form-data").status_code == 302
    if rongque:
        query = "&".join([f"materials={c}" for c in rongque] + [f"due_wd={due_wd}"])
        page = client.get(f"{path}/commitments/rongque?{query}").get_data(as_text=True)
        digest = re.search(r'name="digest" value="([0-9a-f]{64})"', page)
        assert digest is not None
        assert client.post(f"{path}/commitments/rongque", data={
            "csrf_token": csrf_token(page), "materials": list(rongque), "due_wd": str(due_wd),
            "digest": digest.group(1), "signer_name": "张建国", "confirmed": "on"}).status_code == 302
    assert client.post(f"{path}/submit", data={"csrf_token": token_of(client, path)}).status_code == 302
    world.settle()
    return client, path
