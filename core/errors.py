"""The small exception tree every interface turns into a clear message."""


class AssistantError(Exception):
    """Base class: something the caller or operator can act on."""

    code = "assistant_error"
    status = 500


class BadQuestion(AssistantError):
    """The question is empty, too long or otherwise unusable."""

    code = "bad_question"
    status = 422


class NotFound(AssistantError):
    """The thing does not exist, or the caller may not know it exists."""

    code = "not_found"
    status = 404


class IndexNotReady(AssistantError):
    """The store or keyword index has not been built yet: run the ingest first."""

    code = "index_not_ready"
    status = 503


class LLMUnavailable(AssistantError):
    """The configured LLM endpoint failed or timed out."""

    code = "llm_unavailable"
    status = 502


class IngestError(AssistantError):
    """One file could not be ingested; the message names the file and the reason."""

    code = "ingest_error"
