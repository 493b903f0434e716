"""One settings object for every stage, read from the environment and `.env`."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

Clearance = Literal["public", "confidential"]
CLEARANCE_LEVELS: dict[str, tuple[str, ...]] = {
    "public": ("public",),
    "confidential": ("public", "confidential"),
}
VISIBILITIES = frozenset(v for levels in CLEARANCE_LEVELS.values() for v in levels)


def visible_to(clearance: Clearance) -> tuple[str, ...]:
    """Visibilities a caller with this clearance may read."""
    return CLEARANCE_LEVELS[clearance]


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything configurable, with defaults that run offline on one machine."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Corpus and storage
    corpus_dir: Path = Path("corpus")
    manifest_name: str = "documents.csv"
    data_dir: Path = Path("data")
    default_visibility: Literal["public", "confidential"] = "confidential"
    chroma_host: str | None = None
    chroma_port: int = 8000
    collection: str = "guidance"

    # Chunking
    chunk_min_words: int = 120
    chunk_max_words: int = 350
    chunk_overlap_words: int = 30

    # Embeddings: "minilm" (offline ONNX), "openai" (any OpenAI-compatible endpoint), "hash" (tests)
    embedder: Literal["minilm", "openai", "hash"] = "minilm"
    embed_base_url: str | None = None
    embed_model: str = "text-embedding-3-small"
    embed_api_key: str = "unused"
    embed_batch_size: int | None = None  # texts per call; unset: the embedder's own default

    # Retrieval and answering
    top_k: int = 8
    rrf_k: int = 5  # 60 -> 5: one side's confident first hit counts (docs/evals.md "Retrieval")
    refusal_threshold: float = 0.365
    answer_max_sentences: int = 5
    # Issue 11, experimental until its figures beat the defaults (README "Answering"):
    # "tagged" reads PDF blocks from the structure tree; "units" answers from those blocks
    pdf_layout: Literal["text", "tagged"] = "tagged"
    answer_engine: Literal["sentences", "units"] = "units"
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: str = "unused"
    llm_timeout_s: float = 30.0

    # HTTP API
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("ASSISTANT_API_KEYS", "API_KEYS"),
        description="KEY=CLEARANCE pairs, e.g. 'k1=public,k2=confidential'.",
    )
    api_keys_file: Path | None = None
    allow_anonymous: bool = True
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    rate_limit_per_minute: int = 120
    max_question_chars: int = 2000
    max_body_bytes: int = 64 * 1024
    public_base_url: str = "http://127.0.0.1:8000"

    # Slack
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_base_url: str | None = None
    slack_confidential_channels: Annotated[list[str], NoDecode] = Field(default_factory=list)
    slack_confidential_users: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Hardening and operations (issue 13)
    history_max_turns: int = Field(6, ge=0, description="Earlier turns used; older are dropped.")
    history_max_chars: int = Field(500, ge=1, description="Characters kept of each turn.")
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    audit_log_path: Path | None = None  # JSON lines, one per confidential-clearance request

    # Issue 12: Chroma as the one source of truth, several replicas, shared state
    ingest_lock_seconds: float = 60.0  # the writers' lease in Chroma, renewed while a run lives
    state_url: str | None = None  # sqlite:///path or postgresql://...; unset: DATA_DIR/state.sqlite
    pdf_dir: Path | None = None  # where replicas read PDFs; unset: the state database holds them
    auth_failures_per_minute: int = 10  # failed API-key attempts per client address
    forwarded_allow_ips: str = ""  # proxies whose X-Forwarded-For is trusted ("" = none)

    @field_validator("api_keys", "cors_origins", "slack_confidential_channels",
                     "slack_confidential_users", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @property
    def manifest_path(self) -> Path:
        return self.corpus_dir / self.manifest_name

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def bot_db_path(self) -> Path:
        return self.data_dir / "slack.sqlite"

    # Slack: channels answered without a mention, thread follow-ups included (issue 14)
    slack_auto_answer_channels: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("slack_auto_answer_channels", mode="before")
    @classmethod
    def _csv_auto_answer(cls, value: object) -> object:
        return _split_csv(value)

    # Retrieval tuning (issue 11; measured in docs/evals.md "Retrieval: fusion, named
    # documents, asking words"): chunks each side (dense, keyword) hands to fusion (30 -> 50),
    # how much term coverage rescores, and the boost for chunks of a document the question names
    retrieve_candidates: int = Field(50, ge=1)
    coverage_weight: float = Field(1.0, ge=0.0)
    named_document_boost: float = Field(1.0, ge=0.0)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests build their own `Settings(...)` instead."""
    return Settings()
