"""The knowledge-base pages of the console, for content editors and supervisors
(an operator is refused; a content editor sees nothing else — no conversations,
no client data: the questions here are masked and anonymous):

    GET  /console/content                      groups of unanswered and «не помогло» questions,
                                               largest first; the audit of published changes
    GET  /console/content/g/<group>            one group: draft a new topic from it, or add its
                                               questions to an existing topic
    POST /console/content/g/<group>/topic      check the new topic (the loader's rules, errors by
                                               the fields), preview the group's answers, publish
    POST /console/content/g/<group>/paraphrases   the same for questions added to a topic

Registered by the knowledge-base module (knowledge_base/module.py) when the console is installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from bot.core.texts import plural
from knowledge_base.editing import Draft, add_paraphrases, check
from knowledge_base.groups import Group
from knowledge_base.models import LIFE_SITUATIONS, SEGMENT_TITLES

from .auth import Session, content_editor
from .browser import back
from .pages import CONTENT_HOME, ConsoleDep, Link, add_pages

if TYPE_CHECKING:
    from knowledge_base.service import ContentService

LINK = Link(
    CONTENT_HOME, "База знаний", about="Вопросы без ответа по группам: новые ответы и формулировки", for_editors=True
)
WHY = "Базу знаний редактируют редактор базы знаний и руководитель смены. Если нужна правка, обратитесь к ним."
GONE = "Этой группы уже нет: пока вы работали, пришли новые вопросы и группы пересчитались. Выберите группу снова."
DECISIONS = {
    "act": "ответит темой",
    "clarify": "переспросит: «Вы имели в виду…?»",
    "options": "предложит несколько тем на выбор",
    "out_of_scope": "не поймёт вопрос",
}

Editor = Annotated[Session, Depends(content_editor(WHY))]
EditorForm = Annotated[Session, Depends(content_editor(WHY, form=True))]
Text = Annotated[str, Form(max_length=2000)]
# a group is named by a hash of its most frequent question (knowledge_base/groups.py)
GroupId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{10}$")]

router = APIRouter(prefix="/console/content")


def install(app: FastAPI, content: ContentService) -> None:
    app.state.content = content
    add_pages(app, Path(__file__).parent.parent / "templates", LINK)
    app.include_router(router)


def content_of(request: Request) -> ContentService:
    found: ContentService = request.app.state.content
    return found


ContentDep = Annotated["ContentService", Depends(content_of)]


@router.get("", response_class=HTMLResponse)
async def groups_page(
    request: Request, s: Editor, c: ConsoleDep, kb: ContentDep, note: str = "", error: str = ""
) -> Response:
    return c.page(
        request,
        "content.html",
        s,
        groups=await kb.groups(),
        changes=await kb.publisher.changes(),
        nlu=await kb.publisher.nlu_state(),
        retrains=kb.publisher.retrain is not None,
        unlearnt=sorted(kb.understander.unknown_to_nlu),
        kb=kb.kb,
        note=note,
        error=error,
    )


def _group_page(
    request: Request, s: Session, c: Any, kb: ContentService, group: Group, status_code: int = 200, **ctx: Any
) -> Response:
    ctx.setdefault("draft", Draft(paraphrases=group.texts))
    ctx.setdefault("chosen", group.texts)
    return c.page(
        request,
        "content_group.html",
        s,
        status_code=status_code,
        group=group,
        topics=sorted(kb.kb.entries.values(), key=lambda e: (e.life_situation, e.title)),
        situations=LIFE_SITUATIONS,
        segment_titles={k.value: v for k, v in SEGMENT_TITLES.items()},
        decisions=DECISIONS,
        topic_titles={e.id: e.title for e in kb.kb.entries.values()},
        errors=ctx.pop("errors", {}),
        **ctx,
    )


@router.get("/g/{group_id}", response_class=HTMLResponse)
async def group_page(group_id: GroupId, request: Request, s: Editor, c: ConsoleDep, kb: ContentDep) -> Response:
    group = await kb.group(group_id)
    if group is None:
        return back(CONTENT_HOME, error=GONE)
    return _group_page(request, s, c, kb, group)


async def _form_fields(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {k: str(v) for k, v in form.items()}


@router.post("/g/{group_id}/topic", response_class=HTMLResponse)
async def new_topic(
    group_id: GroupId,
    request: Request,
    s: EditorForm,
    c: ConsoleDep,
    kb: ContentDep,
    id: Annotated[str, Form(max_length=64)] = "",
    life_situation: Annotated[str, Form(max_length=64)] = "",
    title: Text = "",
    question: Text = "",
    answer: Annotated[str, Form(max_length=4000)] = "",
    source_name: Text = "",
    source_url: Text = "",
    paraphrases: Annotated[str, Form(max_length=20000)] = "",
    do: Annotated[str, Form(max_length=16)] = "preview",
) -> Response:
    group = await kb.group(group_id)
    if group is None:
        return back(CONTENT_HOME, error=GONE)
    fields = await _form_fields(request)
    segments = {k.removeprefix("seg_"): v[:4000] for k, v in fields.items() if k.startswith("seg_") and v.strip()}
    draft = Draft(
        id=id,
        life_situation=life_situation,
        title=title,
        question=question,
        answer=answer,
        source_name=source_name,
        source_url=source_url,
        paraphrases=paraphrases.splitlines(),
        segments=segments,
    )
    checked = check(draft, kb.kb, new=True)
    return await _preview_or_publish(
        request, s, c, kb, group, checked, do, "create", f"новая тема «{draft.title.strip()}»", draft=draft
    )


@router.post("/g/{group_id}/paraphrases", response_class=HTMLResponse)
async def more_paraphrases(
    group_id: GroupId,
    request: Request,
    s: EditorForm,
    c: ConsoleDep,
    kb: ContentDep,
    topic: Annotated[str, Form(max_length=64)] = "",
    examples: Annotated[list[str] | None, Form()] = None,
    do: Annotated[str, Form(max_length=16)] = "preview",
) -> Response:
    group = await kb.group(group_id)
    if group is None:
        return back(CONTENT_HOME, error=GONE)
    chosen = [e for e in examples or [] if e in group.texts]
    if topic not in kb.kb:
        return _group_page(
            request, s, c, kb, group, 422, chosen=chosen, errors={"topic": "Выберите тему, к которой добавить вопросы."}
        )
    if not chosen:
        return _group_page(
            request, s, c, kb, group, 422, chosen=chosen, errors={"examples": "Отметьте хотя бы один вопрос."}
        )
    checked = check(add_paraphrases(kb.kb[topic], chosen), kb.kb, new=False)
    what = f"{len(chosen)} {plural(len(chosen), 'вопрос', 'вопроса', 'вопросов')} к теме «{kb.kb[topic].title}»"
    return await _preview_or_publish(
        request, s, c, kb, group, checked, do, "paraphrases", what, chosen=chosen, topic=topic
    )


async def _preview_or_publish(
    request: Request,
    s: Session,
    c: Any,
    kb: ContentService,
    group: Group,
    checked: Any,
    do: str,
    action: str,
    what: str,
    **ctx: Any,
) -> Response:
    if checked.errors:
        errors = dict(checked.errors)
        if action == "paraphrases":  # a topic's own fields are not on this form
            errors = {"examples": "Эти вопросы нельзя добавить к теме: " + "; ".join(errors.values())}
        return _group_page(request, s, c, kb, group, 422, errors=errors, **ctx)
    if do == "publish":
        await kb.publish(checked, s.user.name, action, what)
        return back(CONTENT_HOME, note=f"Опубликовано: {what}. Помощник уже отвечает по-новому.")
    preview = await kb.preview(checked.entry, group.texts)
    return _group_page(request, s, c, kb, group, preview=preview, previewed=action, **ctx)
