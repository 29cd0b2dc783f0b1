"""Dependencies: the heavy objects built once in the lifespan, reached by type alias."""

from typing import Annotated

from fastapi import Depends, Request

from index.embed import Embedder
from index.retrieve import Retriever
from index.store import Store
from service.answering.asking import Asking
from service.components import Components
from service.settings import Settings


def get_components(request: Request) -> Components:
    """Everything built at startup."""
    components: Components = request.app.state.components
    return components


ComponentsDep = Annotated[Components, Depends(get_components)]


def get_settings(components: ComponentsDep) -> Settings:
    """The settings the app was created with."""
    return components.settings


def get_store(components: ComponentsDep) -> Store:
    """The Chroma store (503 when it cannot be reached)."""
    return components.store()


def get_embedder(components: ComponentsDep) -> Embedder:
    """The embedding model loaded at startup."""
    return components.embedder


def get_retriever(components: ComponentsDep) -> Retriever:
    """Passage retrieval over the store."""
    return components.retriever()


def get_asking(components: ComponentsDep) -> Asking:
    """The one way to ask, with the backend chosen by the settings."""
    return components.asking()


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
EmbedderDep = Annotated[Embedder, Depends(get_embedder)]
RetrieverDep = Annotated[Retriever, Depends(get_retriever)]
AskingDep = Annotated[Asking, Depends(get_asking)]
