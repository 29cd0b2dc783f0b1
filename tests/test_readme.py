"""The README and docs/ keep their promises: the configuration page has a row for each
setting, as the settings class describes it; the README stays a newcomer's page; every
relative link resolves, anchors included; every docs page is reachable from the README."""

import re
from pathlib import Path

from service.settings import Settings
from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
# [text](target) or ![alt](target), the target up to a space or the closing parenthesis.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~)")


def settings_rows() -> list[str]:
    """The configuration table's rows, from the settings' defaults and descriptions."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default
        if name == "llm_api_key":
            default = "(secret, empty)"
        elif isinstance(default, list):
            default = ",".join(default)
        rows.append(f"| `RAG_{name.upper()}` | `{default}` | {field.description} |")
    return rows


def pages() -> list[Path]:
    """The README and every docs page."""
    return [README, *sorted(DOCS.glob("*.md"))]


def prose(path: Path) -> list[str]:
    """The page's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped,
    spaces as dashes."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a page's headings; a repeated heading gets -1, -2, … as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose(path):
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[str]:
    """The relative link targets of a page (not http(s):, mailto: or bare hosts)."""
    targets = []
    for line in prose(path):
        line = re.sub(r"`[^`]*`", "", line)  # code spans hold no links
        for target in LINK.findall(line):
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                continue
            targets.append(target)
    return targets


def test_configuration_settings_table_matches_settings() -> None:
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [row for row in settings_rows() if row not in page]
    assert not missing, "docs/configuration.md rows to add or update:\n" + "\n".join(missing)


def test_readme_is_at_most_250_lines() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move reference to docs/"


def test_readme_links_resolve() -> None:
    broken = []
    for page in pages():
        for target in links(page):
            path_part, _, anchor = target.partition("#")
            goal = (page.parent / path_part).resolve() if path_part else page
            where = f"{page.relative_to(ROOT)}: {target}"
            if not goal.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and goal.suffix == ".md" and anchor not in anchors(goal):
                broken.append(f"{where} (no heading with that anchor)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_docs_every_page_linked_from_readme() -> None:
    linked = {
        (ROOT / target.partition("#")[0]).resolve()
        for target in links(README)
        if target.partition("#")[0]
    }
    unlinked = [page.name for page in sorted(DOCS.glob("*.md")) if page.resolve() not in linked]
    assert not unlinked, "docs pages the README does not link to: " + ", ".join(unlinked)


def test_slug_is_githubs() -> None:
    assert slug("OpenAI-compatible: `/v1`") == "openai-compatible-v1"
    assert slug("SQuAD through `/api/ask`") == "squad-through-apiask"
    assert slug("Python client and LangChain retriever: `newsrag_client`") == (
        "python-client-and-langchain-retriever-newsrag_client"
    )
    assert slug("Several workers and replicas, one store") == (
        "several-workers-and-replicas-one-store"
    )
