"""The prompt files in `prompts/`, loaded once at startup as LangChain chat templates.

Each `prompts/<name>.toml` holds a `system` and a `user` part written as f-string templates.
A file whose variables differ from what the code fills in (one missing, or one the code
does not know) is refused at startup with a `PromptError` naming the file and variable,
rather than failing on the first question.
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from langchain_core.prompts import ChatPromptTemplate
from pydantic import BaseModel, ConfigDict, ValidationError

from service.answering.errors import PromptError

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
VARIABLES = {"answer": {"passages", "question"}, "rewrite": {"history", "question"}}


class PromptFile(BaseModel):
    """The two parts of a prompt file."""

    model_config = ConfigDict(extra="forbid")

    system: str
    user: str


@dataclass(frozen=True)
class Prompts:
    """The answer prompt and the follow-up rewrite prompt."""

    answer: ChatPromptTemplate
    rewrite: ChatPromptTemplate


def load_prompt(path: Path, variables: set[str]) -> ChatPromptTemplate:
    """One prompt file as a chat template whose variables are exactly `variables`."""
    try:
        parts = PromptFile.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        template = ChatPromptTemplate.from_messages(
            [("system", parts.system), ("human", parts.user)], template_format="f-string"
        )
    except FileNotFoundError as exc:
        raise PromptError(f"prompt file {path} does not exist") from exc
    except (tomllib.TOMLDecodeError, ValidationError, ValueError) as exc:
        raise PromptError(f"prompt file {path} cannot be read: {exc}") from exc
    found = set(template.input_variables)
    if missing := sorted(variables - found):
        raise PromptError(f"prompt file {path} lacks the variable {{{missing[0]}}}")
    if unknown := sorted(found - variables):
        allowed = ", ".join(f"{{{v}}}" for v in sorted(variables))
        raise PromptError(
            f"prompt file {path} uses the unknown variable {{{unknown[0]}}}; it may use {allowed} "
            "(write literal braces as {{ and }})"
        )
    return template


def load_prompts(folder: Path = PROMPTS_DIR) -> Prompts:
    """Both prompts from `folder`, checked."""
    return Prompts(
        answer=load_prompt(folder / "answer.toml", VARIABLES["answer"]),
        rewrite=load_prompt(folder / "rewrite.toml", VARIABLES["rewrite"]),
    )
