"""The README tells the truth about the settings: its table has a row for each, as the
settings class describes it."""

from service.settings import Settings
from tests.conftest import ROOT


def settings_rows() -> list[str]:
    """The README table's rows, from the settings' defaults and descriptions."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default
        if name == "llm_api_key":
            default = "(secret, empty)"
        elif isinstance(default, list):
            default = ",".join(default)
        rows.append(f"| `RAG_{name.upper()}` | `{default}` | {field.description} |")
    return rows


def test_readme_settings_table_matches_settings() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [row for row in settings_rows() if row not in readme]
    assert not missing, "README rows to add or update:\n" + "\n".join(missing)
