"""The chat model of the configured backend, however it is served.

The openai backend talks to any OpenAI-compatible endpoint. The local backend starts
llama-cpp-python's OpenAI-compatible server on loopback with the bundled SmolLM2 GGUF
(`local_model`) and talks to it the same way, so both backends share one client
(`llm.chat_model`), one deadline and one failure path.
"""

from langchain_core.language_models import BaseChatModel

from service.answering.errors import BackendError
from service.answering.llm import chat_model
from service.answering.local_model import LOCAL_MODEL_NAME, LocalServer, bundled_gguf
from service.settings import Settings


class ChatBackend:
    """The chat model of the configured backend, and the local server behind it if any."""

    def __init__(self, model: BaseChatModel, server: LocalServer | None = None) -> None:
        self.model = model
        self.server = server

    def close(self) -> None:
        """Stop the local server, if this backend started one."""
        if self.server is not None:
            self.server.stop()


def open_backend(settings: Settings) -> ChatBackend:
    """The openai backend's client, or the local model's server started and its client."""
    server = None
    base_url, model = settings.llm_base_url, settings.llm_model
    if settings.answer_backend == "local":
        path = settings.local_model or bundled_gguf()
        server = LocalServer(path, settings.context_tokens, settings.local_threads)
        server.start(settings.local_start_timeout)
        base_url, model = server.base_url, LOCAL_MODEL_NAME
    if not (base_url and model):
        raise BackendError("the openai backend needs RAG_LLM_BASE_URL and RAG_LLM_MODEL")
    client = chat_model(
        base_url,
        model,
        settings.llm_api_key,
        timeout=settings.llm_timeout,
        retries=settings.llm_retries,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
    )
    return ChatBackend(client, server)
