"""The admission queue: the answers one worker computes at once and the questions it lets
wait for a turn (`Work`), each question's place in it (`Ticket`), and blocking answering
work run in its turn within the request's deadline (`within_deadline`).

`RequestContext` (`service.api.observe`) sets the worker's `Work` for each request.
"""

import asyncio
import math
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from types import TracebackType
from typing import Any, TypeVar

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool

from service.answering.deadline import deadline
from service.answering.errors import AnswerTimeout, ServiceError
from service.metrics import QUEUED

T = TypeVar("T")


class Work:
    """The answers one worker computes at once (`RAG_MAX_ANSWERING`) and the questions it
    lets wait for a turn (`RAG_MAX_WAITING`). Answering is CPU work: more of it at once only
    makes every answer slower, until all of them miss their deadline. A question past the
    queue, or one the queue ahead would keep past its deadline (at the last answers' pace),
    gets 429 at once with `Retry-After` (the time the queue ahead needs) instead of a 504 a
    minute later. Its own answer counts: a question admitted because the queue ahead would
    end just inside its deadline only missed it later."""

    def __init__(self, running: int, waiting: int) -> None:
        self.running, self.capacity = running, running + waiting
        self._slots = threading.BoundedSemaphore(running)
        self._lock = threading.Lock()
        self._admitted = 0
        self._pace = 1.0  # seconds one answer takes, a moving average

    def admit(self) -> "Ticket":
        """A place in the queue; HTTPException 429 when the queue is full."""
        end = deadline.get()
        left = math.inf if end is None else end - time.monotonic()
        with self._lock:
            ahead = self._admitted / self.running * self._pace  # seconds, at the recent pace
            # Full, or so long a queue that this question would miss its deadline (its wait
            # and then its own answer): say so now rather than with a 504 once it has passed.
            late = ahead + self._pace > left
            if self._admitted >= self.capacity or (self._admitted >= self.running and late):
                wait = max(1, math.ceil(ahead))
                raise HTTPException(
                    429,
                    f"the service is busy: {self._admitted} questions are being answered or "
                    f"waiting here, about {wait} s of work (RAG_MAX_WAITING, "
                    f"RAG_REQUEST_TIMEOUT); try again in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            self._admitted += 1
            QUEUED.inc()
        return Ticket(self)

    def _done(self, took: float | None) -> None:
        with self._lock:
            self._admitted -= 1
            QUEUED.dec()
            if took is not None:
                self._pace = 0.8 * self._pace + 0.2 * took


class Abandoned(ServiceError):
    """The work's turn came after its client had left (`Ticket.abandon`)."""


class Ticket:
    """A question's place: `with ticket:` waits for a turn (within the request's deadline,
    else AnswerTimeout) and holds it while the work runs. `abandon` gives the place back
    when the work never started; a ticket abandoned while it waits never runs."""

    def __init__(self, work: Work) -> None:
        self.work = work
        self._state = "waiting"  # -> "running" -> "done"
        self._lock = threading.Lock()
        self._started = 0.0

    def __enter__(self) -> "Ticket":
        end = deadline.get()
        left = None if end is None else max(0.0, end - time.monotonic())
        if not self.work._slots.acquire(timeout=left):
            self._finish(None)
            raise AnswerTimeout(
                "the answer waited longer than RAG_REQUEST_TIMEOUT allows for its turn; the "
                "service is busy, ask again"
            )
        with self._lock:
            abandoned = self._state == "done"
            self._state = "running" if not abandoned else "done"
        if abandoned:  # its client left while it waited: the place is already given back
            self.work._slots.release()
            raise Abandoned("the client left before the answer's turn came")
        self._started = time.perf_counter()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.work._slots.release()
        self._finish(time.perf_counter() - self._started)

    @property
    def abandoned(self) -> bool:
        """True once the place was given back."""
        return self._state == "done"

    def abandon(self) -> None:
        """Give the place back if the work never took its turn."""
        with self._lock:
            waiting = self._state == "waiting"
            if waiting:
                self._state = "done"
        if waiting:
            self.work._done(None)

    def _finish(self, took: float | None) -> None:
        with self._lock:
            if self._state == "done":
                return
            self._state = "done"
        self.work._done(took)


# The worker's Work, set for each request by RequestContext.
current_work: ContextVar[Work | None] = ContextVar("current_work", default=None)


def admit() -> Ticket | None:
    """A place in this worker's queue for the request being served (429 when full)."""
    work = current_work.get()
    return work.admit() if work is not None else None


async def within_deadline(func: Callable[..., T], *args: Any) -> T:
    """Blocking answering work run in the thread pool, after waiting for its turn (`Work`);
    AnswerTimeout (504) when the request's deadline passes first. The work itself stops at
    its next step (`service.answering.deadline`)."""
    ticket = admit()
    end = deadline.get()
    left = None if end is None else max(0.0, end - time.monotonic())

    def run() -> T:
        if ticket is None:
            return func(*args)
        with ticket:
            return func(*args)

    try:
        return await asyncio.wait_for(run_in_threadpool(run), left)
    except TimeoutError:
        raise AnswerTimeout(
            "the answer took longer than RAG_REQUEST_TIMEOUT allows; ask again, or narrower"
        ) from None
    finally:
        if ticket is not None:
            ticket.abandon()
