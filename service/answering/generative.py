"""Generated answers: a language model writes, the verifier keeps what the passages support,
and the extractive answer stands in whenever the model cannot be trusted.

For one question:
1. The passages are retrieved and the extractive answer is worked out from them at once,
   with the reader. When it refuses (its confidence is below the request's
   `min_confidence`) the model is not asked: a small model is worse than the reader at
   knowing that the passages hold no answer. The answer keeps that confidence.
2. Passages are packed best-first, whole sentences only, into the model's context minus
   the answer budget, numbered and fenced as data in the answer prompt.
3. The model's answer streams through the verifier one sentence at a time, so every delta
   is a checked sentence carrying its final `[n]`.
4. When the model fails, times out, or no sentence of its answer is supported, the
   extractive answer is given with mode=fallback and the reason; sentences already sent
   stay, with the quoted answer after them.
"""

import dataclasses
import logging
import re
import time
from collections.abc import Iterator

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from index.passages import Hit
from index.sentences import count_tokens
from index.terms import terms
from service.answering.answer import Answer, Cited
from service.answering.candidates import candidates
from service.answering.deadline import remaining
from service.answering.errors import LLMError
from service.answering.events import Delta, Event, Finished, Retrieved, Sampling, Usage, finish
from service.answering.extractive import ExtractiveBackend
from service.answering.followup import is_follow_up, standalone
from service.answering.llm import complete, stream_text
from service.answering.prompts import Prompts
from service.answering.verify import Passage, Verifier, is_refusal
from service.answering.verify import complete as finished_sentences
from service.answering.verify import split as split_sentences
from service.metrics import ANSWER_SECONDS, LLM_SECONDS, answered
from service.settings import Settings

log = logging.getLogger(__name__)
# cl100k counts fewer tokens than small models' own tokenizers do for the same text
# (SmolLM2's about 7% more on these articles), so packing leaves a margin.
TOKENIZER_SLACK = 1.15
_FENCE = '"""'
_REWRITE_TURNS = 6
_GIVE_UP_AFTER = 3
# A sentence may only be backed by a passage sentence that itself nearly answers the
# question: a true statement beside the point is not an answer.
RELEVANCE = 0.8
_REWRITE_TOKENS = 64
_MARKER = re.compile(r"\s*\[\d+\]")


def pack(hits: list[Hit], budget: int) -> list[Passage]:
    """Passages in the given order, each cut after the last whole sentence that still fits
    in `budget` tokens; a sentence already packed from an overlapping chunk is not repeated."""
    packed: list[Passage] = []
    seen: set[tuple[str, int]] = set()
    for hit in hits:
        budget -= count_tokens(_header(len(packed) + 1, hit)) + 4
        kept = []
        for cand in candidates([hit]):
            cost = count_tokens(cand.quote) + 1
            if cost > budget:
                break
            if (hit.article_id, cand.start) not in seen:
                kept.append(cand)
                seen.add((hit.article_id, cand.start))
                budget -= cost
        if not kept:
            break
        packed.append(Passage(len(packed) + 1, hit, kept))
    return packed


def by_support(hits: list[Hit], support: dict[tuple[str, int], float]) -> list[Hit]:
    """The hits ordered by their best sentence's support for the question, so that a small
    context holds the passages most likely to answer."""

    def best(hit: Hit) -> float:
        return max(
            (
                s
                for (a, start), s in support.items()
                if a == hit.article_id and hit.start <= start < hit.end
            ),
            default=0.0,
        )

    return sorted(hits, key=lambda h: -best(h))


def render(passages: list[Passage]) -> str:
    """Numbered passages, each fenced so that its text reads as data."""
    return "\n\n".join(
        f"{_header(p.n, p.hit)}\n{_FENCE}\n{p.text.replace(_FENCE, '“”')}\n{_FENCE}"
        for p in passages
    )


def _header(n: int, hit: Hit) -> str:
    return f"Passage [{n}]:"


class GenerativeBackend:
    """Answers with a chat model, checked sentence by sentence, falling back to quoting
    with the extractive backend it holds (which also finds the passages and scores them)."""

    def __init__(
        self,
        extractive: ExtractiveBackend,
        settings: Settings,
        model: BaseChatModel,
        prompts: Prompts,
        sampling: Sampling | None = None,
    ) -> None:
        self.extractive = extractive
        self.settings = settings
        self.model = model
        self.prompts = prompts
        # The request's temperature, max_tokens and stop; unset keeps the configured ones.
        self.sampling = sampling or Sampling()

    def answer(self, question: str, standalone: str, top_k: int) -> Answer:
        """The generated (or fallback) answer, as the extractive answerer's `answer` gives one."""
        return self.complete(question, standalone, top_k).answer

    def complete(self, question: str, standalone: str, top_k: int) -> Finished:
        """The final answer and token use, once every event has run."""
        return finish(self.events(question, standalone, top_k))

    def rewrite(self, question: str, history: list[tuple[str, str]]) -> str:
        """A follow-up rewritten by the model to stand alone; the rule's rewrite when the
        model fails or drops words of the question."""
        if not history or not is_follow_up(question):
            return question
        turns = "\n".join(
            f"{role.capitalize()}: {_MARKER.sub('', text)[:400]}"
            for role, text in history[-_REWRITE_TURNS:]
        )
        messages = self.prompts.rewrite.format_messages(history=turns, question=question)
        try:
            text = complete(
                self.model, messages, remaining(self.settings.llm_timeout / 4), _REWRITE_TOKENS
            )
        except LLMError as exc:
            log.warning("follow-up rewrite failed", extra={"reason": str(exc)})
            return standalone(question, history)
        rewritten = text.strip().splitlines()[0].strip(" \"'“”") if text.strip() else ""
        return rewritten if _keeps(question, rewritten) else standalone(question, history)

    def events(self, question: str, standalone: str, top_k: int) -> Iterator[Event]:
        """Retrieved, checked sentences as deltas, Finished (see the module docstring)."""
        hits = self.extractive.retrieve(standalone, top_k)
        yield Retrieved(standalone, hits)
        started = time.perf_counter()
        for event in self._answer(question, standalone, hits):
            if isinstance(event, Finished):
                ANSWER_SECONDS.observe(time.perf_counter() - started)
                answered(event.answer.mode, event.answer.answerable)
            yield event

    def _answer(self, question: str, standalone: str, hits: list[Hit]) -> Iterator[Event]:
        quoted = self.extractive.quote(question, standalone, hits)
        if not quoted.answerable:
            yield Delta(quoted.text)
            yield Finished(quoted, None)
            return
        found = candidates(hits)
        support = {
            (c.hit.article_id, c.start): s
            for s, c in zip(self.extractive.score(standalone, found), found, strict=True)
        }
        passages = pack(by_support(hits, support), self.budget(standalone))
        messages = self.prompts.answer.format_messages(
            passages=render(passages), question=standalone
        )
        floor = self.extractive.min_support * RELEVANCE
        relevant = {key for key, s in support.items() if s >= floor}
        verifier = Verifier(
            self.extractive, passages, standalone, self.settings.min_claim_support, relevant
        )
        raw: list[str] = []
        kept: list[str] = []
        failure = None
        try:
            for sentence in self.checked(messages, verifier, raw):
                kept.append(sentence)
                yield Delta(sentence if len(kept) == 1 else f" {sentence}")
        except LLMError as exc:
            failure = str(exc)
        usage = Usage(
            sum(count_tokens(str(m.content)) for m in messages), count_tokens("".join(raw))
        )
        if kept and failure is None:
            text = " ".join(kept)
            yield Finished(
                Answer(
                    question,
                    standalone,
                    text,
                    True,
                    None,
                    "generated",
                    verifier.cited,
                    quoted.confidence,
                ),
                usage,
            )
            return
        reason = failure or _why_unsupported("".join(raw))
        log.info(
            "generated answer replaced", extra={"reason": reason, "dropped": len(verifier.dropped)}
        )
        fallback = _after(kept, verifier.cited, quoted, reason)
        yield Delta(fallback.text[len(" ".join(kept)) :] if kept else fallback.text)
        yield Finished(fallback, usage)

    def checked(
        self, messages: list[BaseMessage], verifier: Verifier, raw: list[str]
    ) -> Iterator[str]:
        """Each supported sentence of the model's answer as soon as it is complete."""
        # A request may lower the answer budget, never raise it: the context is packed for it.
        limit = min(self.settings.llm_max_tokens, self.sampling.max_tokens or 1 << 30)
        with LLM_SECONDS.time():
            yield from self._checked(messages, verifier, raw, limit)

    def _checked(
        self, messages: list[BaseMessage], verifier: Verifier, raw: list[str], limit: int
    ) -> Iterator[str]:
        buffer, kept = "", 0
        # The model gets RAG_LLM_TIMEOUT, or what is left of the request's time if less.
        for piece in stream_text(
            self.model,
            messages,
            remaining(self.settings.llm_timeout),
            limit,
            self.sampling.options(limit),
        ):
            raw.append(piece)
            done, buffer = finished_sentences(buffer + piece)
            for sentence in filter(None, map(verifier.check, done)):
                kept += 1
                yield sentence
            # Enough said, or the model has wandered off: stop it rather than wait.
            if kept >= self.extractive.max_sentences or len(verifier.dropped) >= _GIVE_UP_AFTER:
                return
        yield from filter(None, (verifier.check(c) for _, c in split_sentences(buffer)))

    def budget(self, question: str) -> int:
        """Tokens left for passages once the prompt's own text and the answer are counted."""
        empty = self.prompts.answer.format_messages(passages="", question=question)
        overhead = sum(count_tokens(str(m.content)) for m in empty) + 8 * len(empty)
        room = (self.settings.context_tokens - self.settings.llm_max_tokens) / TOKENIZER_SLACK
        return max(0, int(room) - overhead)


def _keeps(question: str, rewritten: str) -> bool:
    """A rewrite is taken only as one question of sane length that keeps the original's words
    (a small model often answers, or drifts off, instead of rewriting)."""
    wanted = set(terms(question))
    lost = wanted - set(terms(rewritten))
    return rewritten.endswith("?") and len(rewritten) <= 400 and len(lost) * 4 <= len(wanted)


def _why_unsupported(raw: str) -> str:
    if not raw.strip():
        return "the model returned an empty answer"
    if is_refusal(raw):
        return "the model found no answer in the passages, though some support the question"
    return "no sentence of the model's answer was supported by the passages"


def _after(kept: list[str], cited: list[Cited], quoted: Answer, reason: str) -> Answer:
    """The extractive answer, after any checked sentences already sent, renumbered to follow."""
    if not kept:
        return dataclasses.replace(quoted, mode="fallback", reason=reason)
    shift = len(cited)
    moved = [dataclasses.replace(c, n=c.n + shift) for c in quoted.citations]
    text = _MARKER.sub(lambda m: f" [{int(m.group().strip()[1:-1]) + shift}]", quoted.text)
    return dataclasses.replace(
        quoted,
        text=f"{' '.join(kept)} {text}",
        mode="fallback",
        reason=reason,
        citations=[*cited, *moved],
    )
