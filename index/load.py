"""Find article files in the seeds folder, read them as text and attach their metadata.

Metadata lives beside the articles in `articles.toml`, one table per file name:

    ["001_225de647bfb3e4f3.txt"]
    title = "..."
    publisher = "..."
    published = "2025-12-20"
    url = "https://..."

Every key is optional; what is not known stays empty rather than being guessed. An HTML
page's own title, date and address (its meta tags, `<title>`, canonical link), read by
trafilatura, fill in what the manifest (or an upload's request) leaves out.
"""

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import trafilatura

from index.errors import ManifestError, UnreadableArticle

MANIFEST = "articles.toml"
SUFFIXES = (".txt", ".md", ".html", ".htm")
META_KEYS = ("title", "publisher", "published", "url")


@dataclass(frozen=True)
class RawArticle:
    """One seed file read as text, with the metadata the manifest gives for it."""

    source: str
    text: str
    digest: str
    meta: dict[str, str] = field(default_factory=dict)


def list_sources(seeds_dir: Path) -> list[Path]:
    """Article files in the folder (not recursive), in a stable order."""
    return sorted(p for p in seeds_dir.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def read_manifest(seeds_dir: Path) -> dict[str, dict[str, str]]:
    """The per-file metadata tables, or nothing when there is no manifest."""
    path = seeds_dir / MANIFEST
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: {exc}") from exc
    return {
        name: {k: str(v) for k, v in table.items() if k in META_KEYS and str(v).strip()}
        for name, table in data.items()
        if isinstance(table, dict)
    }


def decode(path: Path) -> str:
    """The file's text; raises UnreadableArticle for binary, non-UTF-8 or empty files."""
    return decode_bytes(path.read_bytes(), path.name)


def decode_bytes(data: bytes, name: str) -> str:
    """Text of a file's bytes (HTML through trafilatura's main-text extraction, by the name's
    suffix); raises UnreadableArticle for binary, non-UTF-8 or empty content."""
    if b"\x00" in data[:8192]:
        raise UnreadableArticle(name, "looks binary (holds NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableArticle(name, f"is not UTF-8 text (byte {exc.start})") from exc
    if PurePath(name).suffix.lower() in (".html", ".htm"):
        text = trafilatura.extract(text, include_comments=False, include_tables=False) or ""
    if not text.strip():
        raise UnreadableArticle(name, "holds no article text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def page_metadata(data: bytes, name: str) -> dict[str, str]:
    """The title, publication date and address an HTML page gives of itself (nothing for
    other files): only what its markup states, no date guessed from the text."""
    if PurePath(name).suffix.lower() not in (".html", ".htm"):
        return {}
    try:
        page = trafilatura.extract_metadata(data.decode("utf-8-sig"), extensive=False)
    except UnicodeDecodeError:
        return {}
    found = {"title": page.title, "published": page.date, "url": page.url}
    return {k: v.strip() for k, v in found.items() if v and v.strip()}


def digest_of(text: str, meta: dict[str, str], signature: str) -> str:
    """Digest of an article source: it changes when the text, its metadata or the pipeline
    (the signature) does."""
    parts = [signature, text, *(f"{k}={v}" for k, v in sorted(meta.items()))]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def read_article(path: Path, meta: dict[str, str], signature: str) -> RawArticle:
    """Read one file of the seeds folder; the manifest's `meta` wins over the page's own."""
    data = path.read_bytes()
    text = decode_bytes(data, path.name)
    meta = {**page_metadata(data, path.name), **meta}
    return RawArticle(path.name, text, digest_of(text, meta, signature), meta)
