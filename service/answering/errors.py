"""Errors raised while answering. The API maps them to HTTP in one place (`service.api.errors`).

    ServiceError (base: anything the service refuses or fails on purpose)
    ├── PromptError        a prompt file is missing, malformed or has wrong variables
    │                      (service.answering.prompts; stops the start)
    ├── BackendError       the configured answer backend cannot be set up (stops the start)
    ├── AnswerTimeout      the request's deadline passed (RAG_REQUEST_TIMEOUT; a 504)
    └── LLMError           the language model failed; never reaches a client: the answer
        │                  falls back to the extractive one with mode=fallback
        ├── LLMUnavailable connection refused, HTTP error or a malformed response
        └── LLMTimeout     no complete answer within the deadline

The API adds QuestionRejected (422) for a question that cannot be answered as asked.
"""


class ServiceError(Exception):
    """Base class for errors raised by the service on purpose."""


class PromptError(ServiceError):
    """A prompt file is missing, malformed, or uses other variables than the code fills in."""


class BackendError(ServiceError):
    """The configured answer backend cannot be set up."""


class LLMError(ServiceError):
    """A model call gave no usable answer."""


class LLMUnavailable(LLMError):
    """The model endpoint refused, failed or answered with something unreadable."""


class LLMTimeout(LLMError):
    """The model did not finish within the deadline."""


class AnswerTimeout(ServiceError):
    """The request's deadline passed before the answer was ready."""
