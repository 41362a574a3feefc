"""What goes into the core and what comes out: the only shapes channels see."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field, model_validator


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
    """A choice under a reply: pressing it sends `payload` back as the client's turn,
    or, for a link button (`url` set), opens that page (e.g. a payment page)."""

    title: str
    payload: str = Field("", max_length=64)  # fits Telegram's callback_data limit
    url: str | None = Field(None, max_length=2048, pattern=r"^https?://")

    @model_validator(mode="after")
    def _payload_or_url(self) -> Button:
        if not self.payload and not self.url:
            raise ValueError("a button needs a payload to send back or a url to open")
        return self


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
    channel: str  # api | telegram | max | widget | voice | terminal
    client_id: str
    text: str | None = None
    payload: str | None = None
    # Names this request when the channel may send it again (the API's Idempotency-Key): the
    # turn's result is saved with its state, and the same receipt again gets that result back
    # instead of a second turn — even when the process died before the channel kept the reply.
    receipt: str | None = None


class Candidate(BaseModel):
    intent: str
    faq_id: str | None = None
    score: float

    @property
    def key(self) -> str:
        return f"faq:{self.faq_id}" if self.faq_id else f"do:{self.intent}"


class NormalizedWord(BaseModel):
    kind: str  # layout | translit | spelling
    original: str
    normalized: str


class Normalization(BaseModel):
    """What the assistant changed in the client's text before reading it."""

    text: str  # the text as understood
    changes: list[NormalizedWord]


class Understanding(BaseModel):
    intent: str
    faq_id: str | None = None
    confidence: float
    ranking: list[Candidate]
    entities: dict[str, str] = Field(default_factory=dict)
    # Added fields (contract/api.md): None / empty when they do not apply.
    normalization: Normalization | None = None  # wrong layout, transliteration, spelling undone
    focus: str | None = None  # the sentence of a long message that was understood
    actions: list[str] = Field(default_factory=list)  # action intents the message also asks for
    other_service: str | None = None  # a public service of another authority (id in other_services.yaml)


class ConversationInfo(BaseModel):
    flow: str | None = None
    with_operator: bool = False


class TurnResult(BaseModel):
    conversation_id: str
    replies: list[Reply]
    understanding: Understanding | None = None
    state: ConversationInfo = Field(default_factory=ConversationInfo)
