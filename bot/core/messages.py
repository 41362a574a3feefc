"""What goes into the core and what comes out: the only shapes channels see."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field


class ReplyKind(str, Enum):
    answer = "answer"
    clarify = "clarify"
    options = "options"
    ask_resolved = "ask_resolved"
    flow = "flow"
    handoff = "handoff"
    operator = "operator"
    info = "info"
    error = "error"


class Button(BaseModel):
    title: str
    payload: str = Field(max_length=64)  # fits Telegram's callback_data limit


class Reply(BaseModel):
    kind: ReplyKind
    text: str
    buttons: list[Button] = Field(default_factory=list)
    faq_id: str | None = None  # set on answers from the knowledge base
    source_url: str | None = None
    # An image to show with the text (e.g. a payment QR code): an absolute URL
    # of a PNG served by this app. Channels that cannot show images rely on
    # the text, which always carries the same information.
    image_url: str | None = None


class Incoming(BaseModel):
    conversation_id: str
    channel: str  # api | telegram | voice | terminal
    client_id: str
    text: str | None = None
    payload: str | None = None


class Candidate(BaseModel):
    intent: str
    faq_id: str | None = None
    score: float

    @property
    def key(self) -> str:
        return f"faq:{self.faq_id}" if self.faq_id else f"do:{self.intent}"


class Understanding(BaseModel):
    intent: str
    faq_id: str | None = None
    confidence: float
    ranking: list[Candidate]
    entities: dict[str, str] = Field(default_factory=dict)


class ConversationInfo(BaseModel):
    flow: str | None = None
    with_operator: bool = False


class TurnResult(BaseModel):
    conversation_id: str
    replies: list[Reply]
    understanding: Understanding | None = None
    state: ConversationInfo = Field(default_factory=ConversationInfo)
