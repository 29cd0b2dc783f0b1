"""Turn a scraped page into clean stories: page chrome dropped, teaser stories split off.

The rules work on lines, because scraped pages keep one block element per line:

1. A line is *chrome* when it is navigation or furniture rather than reporting: social and
   newsletter boxes, "keep reading"/"show less" links, all-caps section labels ("LATEST"),
   URL slugs ("europe-defender-army-nato"), kicker labels ("Analysis | Europe"), and photo
   credits or captions (a line that starts "Photo credit:", or a line of at most 60 words
   that ends with a bracketed credit such as "[US Army: Jason Johnston]" or names a picture
   agency "via REUTERS").
   Chrome never reaches a chunk.
2. A line is *prose* when it reads as a paragraph: at least 12 words ending in sentence
   punctuation, or at least 25 words. Other lines are *short*: headlines, section heads,
   topic tags.
3. A "keep reading"/"read more" link closes a *teaser*: the last run of prose paragraphs
   before it is the teaser's text, and the longest short line between that run and the
   prose before it is the teaser's headline. Each teaser becomes its own story, cited
   under that headline.
4. The main story runs from its first prose line to its last one; short lines inside it
   (section heads) are kept, short lines before it (title, kicker) and after it are not.
"""

import re
from dataclasses import dataclass

CLEANER_VERSION = "2"
CAPTION_WORDS = 60  # the longest line read as a photo caption

_CHROME_LINE = re.compile(
    r"""^(
        follow\ us(\ on\ .*)? | share(\ this)?(\ article)? | advertisement | sign\ up.* |
        subscribe.* | .*newsletter.* | keep\ reading.* | read\ more.* | continue\ reading.* |
        show\ (less|more) | related(\ articles|\ stories)? | most\ (read|popular) |
        (top\ )?(photo|image)\ credit:.* | photo:.* | credit:.* | skip\ to\ .* |
        [A-Z0-9]{2,}(\ [A-Z0-9]{2,})?                     # all-caps labels: LATEST, QIOSK
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_ALL_CAPS = re.compile(r"^[A-Z0-9][A-Z0-9 &'’-]{1,30}$")
_SLUG = re.compile(r"^[\w]+([-_][\w]+){2,}$")
_KICKER = re.compile(r"^[^|.!?]{1,40}\|[^|.!?]{1,40}$")
_CAPTION_CREDIT = re.compile(
    r"(\[[^\]]*:[^\]]*\]\s*$)|(\((shutterstock|getty|ap photo|reuters)[^)]*\)\s*$)|"
    r"(\bvia (reuters|ap|getty images|afp)\b)",
    re.IGNORECASE,
)
_READ_MORE = re.compile(r"^(keep reading|read more|continue reading)", re.IGNORECASE)
_DATELINE = re.compile(r"[—–-]\s*$")  # "New York CNN —", "LONDON, June 3 (Reuters) -"
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")


@dataclass(frozen=True)
class Story:
    """One story found on a page: its text and, for teasers, the headline found with it."""

    text: str
    headline: str | None
    is_teaser: bool


def is_chrome(line: str) -> bool:
    """True for page furniture that must never become a passage."""
    text = line.strip()
    if _CHROME_LINE.match(text) and (not _ALL_CAPS.match(text) or len(text.split()) <= 2):
        return True
    if _SLUG.match(text) and " " not in text:
        return True
    if _KICKER.match(text):
        return True
    # A caption is short; a long paragraph ending in a bracket is a citation, e.g. a
    # scientific abstract's "[Diabetologia (2000) 43: 1455–1469]".
    return len(text.split()) <= CAPTION_WORDS and bool(_CAPTION_CREDIT.search(text))


def is_prose(line: str) -> bool:
    """True for a line that reads as a paragraph of reporting."""
    words = len(line.split())
    return words >= 25 or (words >= 12 and bool(_SENTENCE_END.search(line.strip())))


def split_stories(raw: str) -> list[Story]:
    """The main story first, then each teaser in page order; chrome removed from all."""
    lines = [ln.strip() for ln in raw.split("\n")]
    blocks: list[tuple[list[str], bool]] = []
    current: list[str] = []
    for line in lines:
        if _READ_MORE.match(line):
            blocks.append((current, True))
            current = []
        elif line and not is_chrome(line):
            current.append(line)
    blocks.append((current, False))
    main: list[str] = []
    teasers: list[Story] = []
    for block, closed_by_link in blocks:
        if closed_by_link:
            head, teaser = _split_teaser(block)
            main.extend(head)
            if teaser:
                teasers.append(teaser)
        else:
            main.extend(block)
    stories = [Story(text=_main_text(main), headline=None, is_teaser=False)]
    return [s for s in stories + teasers if s.text]


def _split_teaser(block: list[str]) -> tuple[list[str], Story | None]:
    """Lines that belong to the story before, and the teaser that ends the block."""
    end = len(block)
    start = end
    while start > 0 and is_prose(block[start - 1]):
        start -= 1
    if start == end:
        return block, None
    gap_start = start
    while gap_start > 0 and not is_prose(block[gap_start - 1]):
        gap_start -= 1
    gap = block[gap_start:start]
    headline = max(gap, key=lambda s: len(s.split()), default=None)
    teaser = Story(text="\n\n".join(block[start:end]), headline=headline, is_teaser=True)
    return block[:gap_start], teaser


def _main_text(lines: list[str]) -> str:
    """Paragraphs from the first prose line to the last, section heads kept between."""
    prose_at = [i for i, line in enumerate(lines) if is_prose(line)]
    if not prose_at:
        return "\n\n".join(lines)
    return "\n\n".join(lines[prose_at[0] : prose_at[-1] + 1])


def first_headline(raw: str) -> str | None:
    """The first headline-like line of a page (a short line before the first paragraph; a
    dateline such as "New York CNN —" is not one)."""
    for line in (ln.strip() for ln in raw.split("\n")):
        if is_prose(line):
            return None
        if line and not is_chrome(line) and len(line.split()) >= 4 and not _DATELINE.search(line):
            return line
    return None
