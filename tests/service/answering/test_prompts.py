"""The prompt files in prompts/ load as chat templates, and bad ones stop the start."""

from pathlib import Path

import pytest

from service.answering.prompts import PROMPTS_DIR, PromptError, load_prompt, load_prompts


def write(folder: Path, system: str, user: str) -> Path:
    path = folder / "answer.toml"
    path.write_text(f'system = """{system}"""\nuser = """{user}"""\n', encoding="utf-8")
    return path


def test_load_prompts_repository_files_have_their_variables() -> None:
    prompts = load_prompts(PROMPTS_DIR)
    assert set(prompts.answer.input_variables) == {"passages", "question"}
    assert set(prompts.rewrite.input_variables) == {"history", "question"}
    system, user = prompts.answer.format_messages(passages="Passage [1]: text", question="Why?")
    assert "[1]" in system.content and "don't say" in str(system.content)
    assert "Passage [1]: text" in user.content and "Why?" in user.content


def test_load_prompt_missing_variable_names_it(tmp_path: Path) -> None:
    path = write(tmp_path, "Answer from the passages.", "Question: {question}")
    with pytest.raises(PromptError, match=r"lacks the variable \{passages\}"):
        load_prompt(path, {"passages", "question"})


def test_load_prompt_unknown_variable_names_it(tmp_path: Path) -> None:
    path = write(tmp_path, "Be {tone}.", "{passages}\n{question}")
    with pytest.raises(PromptError, match=r"unknown variable \{tone\}"):
        load_prompt(path, {"passages", "question"})


def test_load_prompt_literal_braces_are_allowed_doubled(tmp_path: Path) -> None:
    path = write(tmp_path, "Reply as {{json}}.", "{passages}\n{question}")
    template = load_prompt(path, {"passages", "question"})
    assert "{json}" in template.format_messages(passages="p", question="q")[0].content


def test_load_prompt_missing_part_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "answer.toml"
    path.write_text('system = "only a system part"\n', encoding="utf-8")
    with pytest.raises(PromptError, match="cannot be read"):
        load_prompt(path, {"passages", "question"})


def test_load_prompts_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="does not exist"):
        load_prompts(tmp_path)
