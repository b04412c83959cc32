"""The recall audit in the review workbench (``/review/audit``): the next sampled sentence this coder has not
marked, in its paragraph, with a checkbox per theme; marks are appended like review decisions (CSRF-checked
POSTs, written on the workbench's writer; ids, seeds and notes checked as the workbench checks its own, a 400
before any statement); ``/review/audit/results`` shows precision and miss rate per theme."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sibkit.audit.sample import MAX_SAMPLE, NONE, draw_sample, mark, sampled_sentences, standing_marks
from sibkit.errors import Forbidden, NotFound, SibkitError
from sibkit.store import Document

CONTEXT = 400  # characters of the document shown either side of the sentence
MAX_NOTE = 2000  # characters of a mark's note (what `sample.mark` keeps; a longer one is refused, not cut)
FEW_REVIEWED = 5  # a precision from fewer reviewed hits is shown as "too few to say" (as the dashboard's figures)


def _context(session: Session, document_id: int, start: int, end: int) -> tuple[str, str]:
    before_start = max(0, start - CONTEXT)
    before, after = session.execute(select(
        func.substr(Document.text, before_start + 1, start - before_start),
        func.substr(Document.text, end + 1, CONTEXT)).where(Document.id == document_id)).one()
    # the paragraph only: cut at a blank line on either side; where the window cuts the paragraph instead,
    # cut at a space and say so with an ellipsis rather than show half a word
    if "\n\n" in before:
        before = before.rsplit("\n\n", 1)[-1]
    elif before_start > 0 and " " in before:
        before = "… " + before.split(" ", 1)[1]
    if "\n\n" in after:
        after = after.split("\n\n", 1)[0]
    elif len(after) == CONTEXT and " " in after:
        after = after.rsplit(" ", 1)[0] + " …"
    return before, after


def audit_routes(router: APIRouter, bench: Any, prefix: str) -> None:
    """Add the audit pages to the workbench's router (``bench``: its ``Workbench``)."""

    def page(request: Request, wanted: str | None = None, problem: str = "") -> HTMLResponse:
        """The next sentence to mark (``wanted``: this one, as after a refused save, with ``problem`` said)."""
        actor = bench.actor(request)
        store = bench.store
        sentences = sampled_sentences(store)
        marks = standing_marks(store)
        mine = {sid for sid, coders in marks.items() if actor.name in coders}
        wanted = wanted or request.query_params.get("sentence")
        current = None
        if wanted:
            try:
                current = next(s for s in sentences if s["sentence_id"] == int(wanted))
            except (ValueError, StopIteration):
                raise NotFound(f"no audit sentence {wanted[:20]!r}") from None
        else:
            after = request.query_params.get("after", "")
            skipped = int(after) if after.isdigit() else 0
            order = [s for s in sentences if s["sentence_id"] not in mine]
            current = next((s for s in order if int(s["sentence_id"]) > skipped), order[0] if order else None)
        before = after_text = ""
        marked: list[str] = []
        if current is not None:
            with store.session() as session:
                before, after_text = _context(session, int(current["document_id"]), int(current["start"]),
                                              int(current["end"]))
            marked = marks.get(int(current["sentence_id"]), {}).get(actor.name, [])
        skip_url = f"{prefix}/audit?" + urlencode({"after": current["sentence_id"]}) if current else ""
        return bench.render("audit.html", actor=actor, sentence=current, before=before, after=after_text,
                            marked=marked, done=len(mine & {s["sentence_id"] for s in sentences}),
                            total=len(sentences), skip_url=skip_url, max_sample=MAX_SAMPLE, problem=problem)

    @router.get("/audit", response_class=HTMLResponse)
    async def audit_page(request: Request) -> HTMLResponse:
        return await bench.run(page, request)

    @router.post("/audit/mark")
    async def audit_mark(request: Request) -> Response:
        form = await request.form()
        chosen = [str(v) for v in form.getlist("theme")]
        themes = [NONE] if form.get("none") else chosen
        note = bench.text(form.get("note", ""), "note", MAX_NOTE)  # refused before anything is written
        sentence_id = bench.number(form.get("sentence_id", ""), "sentence_id")
        if not themes:  # nothing ticked: the same sentence again, saying what to do, rather than an error page
            actor = await bench.run(bench.actor, request)
            bench.check_post(request, form, actor.csrf)
            shown = await bench.run(page, request, str(sentence_id),
                                    "Tick the themes the sentence expresses, or choose 'None of these' (n).")
            shown.status_code = 400
            return shown

        def work(session: Session) -> int | None:
            actor = bench.actor(request, session)
            bench.check_post(request, form, actor.csrf)
            if not actor.can_decide:
                raise Forbidden(f"{actor.name} is a viewer: viewers read, coders mark")
            if not themes:
                raise SibkitError("tick the themes the sentence expresses, or choose 'None of these'")
            return mark(session, actor.name, sentence_id, themes, bench.theme_ids, note)

        await bench.write(work)
        return RedirectResponse(f"{prefix}/audit", status_code=303)

    @router.post("/audit/draw")
    async def audit_draw(request: Request) -> Response:
        actor = await bench.run(bench.actor, request)
        form = await request.form()
        bench.check_post(request, form, actor.csrf)
        if not actor.is_admin:
            raise Forbidden("only an admin can draw an audit sample")
        if bench.study is None:
            raise SibkitError("drawing a sample needs the study (run `sibkit review audit STUDY --sample N`)")
        size = bench.number(form.get("size", ""), "size")  # the sample's seed is stored in an INTEGER column
        seed = bench.number(form.get("seed", ""), "seed", lowest=0)
        await bench.run(draw_sample, bench.study, size, seed)
        return RedirectResponse(f"{prefix}/audit", status_code=303)

    def results(request: Request) -> HTMLResponse:
        actor = bench.actor(request)
        from sibkit.audit.estimate import instrument_error

        themes = [t.id for t in bench.themes.codable]
        table = instrument_error(bench.study if bench.study is not None else bench.store,
                                 None if bench.study is not None else themes)
        return bench.render("audit_results.html", actor=actor, rows=table.to_dict("records"), attrs=table.attrs,
                            few=FEW_REVIEWED)

    @router.get("/audit/results", response_class=HTMLResponse)
    async def audit_results(request: Request) -> HTMLResponse:
        return await bench.run(results, request)
