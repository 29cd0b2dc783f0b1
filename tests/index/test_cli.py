"""`python -m index`: exit codes and the status report."""

from pathlib import Path

import pytest

from index.__main__ import main


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, seeds_copy: Path, tmp_path: Path) -> Path:
    monkeypatch.setenv("RAG_SEEDS_DIR", str(seeds_copy))
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RAG_PROGRESS", "false")
    return seeds_copy


def test_cli_build_then_status(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build"]) == 0
    assert "2 added" in capsys.readouterr().out
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert (
        "articles: 5 (2 files of the seeds folder, 0 added over HTTP)" in out
        and "all-MiniLM-L6-v2" in out
        and "chroma" in out
    )


def test_cli_unreadable_file_exit_code_one(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "broken.txt").write_bytes(b"\xff\xfe\x00\x01binary")
    assert main([]) == 1
    captured = capsys.readouterr()
    assert "skipped broken.txt" in captured.err and "2 added" in captured.out


def test_cli_missing_seeds_folder_exit_code_two(
    env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAG_SEEDS_DIR", str(tmp_path / "nowhere"))
    assert main([]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_bad_setting_named_exit_code_two(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAG_COLLECTION", "x")  # Chroma wants 3 characters or more
    assert main([]) == 2
    assert "RAG_COLLECTION" in capsys.readouterr().err
