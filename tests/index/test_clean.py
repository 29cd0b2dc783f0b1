"""Cleaning: page chrome never survives, teasers are split off under their own headlines."""

from pathlib import Path

from index.clean import first_headline, is_chrome, split_stories

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
CHROME = [
    "Follow us on social",
    "keep readingShow less",
    "LATEST",
    "QIOSK",
    "Newsletter",
    "Europe-defender-army-nato",
    "Analysis | Europe",
    "Top photo credit: Senator Rand Paul (R-KY) (Shutterstock/Mark Reinstein)",
    "Subscribe now to our weekly round-up and don't miss a beat with your favorite RS contributors.",
]


def page() -> str:
    return (SEEDS / "000_a171cb6fbc5efeab.txt").read_text(encoding="utf-8")


def test_split_stories_seed_page_has_host_and_three_teasers() -> None:
    stories = split_stories(page())
    assert [s.is_teaser for s in stories] == [False, True, True, True]
    assert [s.headline for s in stories[1:]] == [
        "Rand Paul to Trump: Don't 'abandon' MAGA over Maduro regime change",
        "‘America First’ meets ‘ASEAN Way’ in Kuala Lumpur",
        "'Annulled'! Russia won't abide snapback sanctions on Iran",
    ]


def test_split_stories_seed_page_drops_all_chrome() -> None:
    text = "\n".join(s.text for s in split_stories(page()))
    for chrome in (
        *CHROME,
        "Jason Johnston",
        "Photo credit",
        "Washington Politics",
        "Asia-Pacific",
    ):
        assert chrome not in text


def test_split_stories_teasers_stay_out_of_host() -> None:
    host, *teasers = split_stories(page())
    assert "Maduro" not in host.text and "Kuala Lumpur" not in host.text
    assert host.text.rstrip().endswith("a new, horrific European war.")
    assert "Maduro" in teasers[0].text
    assert "Cairo" in teasers[2].text and "Cairo" not in teasers[1].text


def test_split_stories_plain_article_is_one_story_with_section_heads() -> None:
    raw = (SEEDS / "001_225de647bfb3e4f3.txt").read_text(encoding="utf-8")
    stories = split_stories(raw)
    assert len(stories) == 1
    assert "A Heavily Militarized Outpost" in stories[0].text
    assert stories[0].text.startswith("Kaliningrad, a small Russian exclave")


def test_is_chrome_recognises_furniture() -> None:
    assert all(is_chrome(line) for line in CHROME)
    assert not is_chrome("Putin’s December 2025 Warning")
    assert not is_chrome("NATO has increased its presence in the region since 2016.")
    # A long paragraph that ends in a bracketed citation is text, not a photo credit.
    abstract = "Diabetes predisposes patients to cardiac disease; " * 12 + "[Diabetologia 43: 1455]"
    assert not is_chrome(abstract)


def test_split_stories_made_up_page() -> None:
    raw = """Share this article
WORLD | ENERGY
Ministers agree on a new grid for the North Sea

Energy ministers from five countries agreed on Tuesday to build a shared offshore grid linking wind farms in the North Sea by 2035.
The project will cost an estimated 30 billion euros, according to a statement released after the meeting in Oslo.
Photo: Wind turbines off the coast of Denmark (Getty Images)
Related stories
Local bakery wins national bread prize
Sports
The family-run bakery in Leeds beat more than two hundred entries to win the national prize for its sourdough loaf this year.
Read more
ADVERTISEMENT
Sign up for our newsletter
"""
    host, teaser = split_stories(raw)
    assert first_headline(raw) == "Ministers agree on a new grid for the North Sea"
    assert host.text.startswith("Energy ministers") and host.text.endswith("meeting in Oslo.")
    assert teaser.headline == "Local bakery wins national bread prize"
    assert teaser.text.startswith("The family-run bakery")
    for chrome in ("Share this", "WORLD", "Photo:", "Related", "ADVERTISEMENT", "newsletter"):
        assert chrome not in host.text + teaser.text


def test_first_headline_skips_a_dateline() -> None:
    raw = "New York CNN —\n\n“Squid Game” is officially coming back for a second season, Netflix announced on Sunday.\n"
    assert first_headline(raw) is None  # the title then comes from the article's first words
