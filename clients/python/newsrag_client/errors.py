"""The errors the client raises, each carrying what the service said.

NewsRAGError                 base
├── Unreachable              no answer at all (connection refused, timed out)
├── StreamFailed             an `error` event after the stream began
└── APIError                 an error status; `.status`, `.detail`, `.errors`
    ├── InvalidRequest       400 or 422: the request is malformed
    ├── NotFound             404
    ├── Conflict             409
    ├── TooLarge             413
    ├── UnsupportedMedia     415
    ├── Unavailable          503, with `.retry_after` seconds
    └── ServerError          any other 5xx
"""


class NewsRAGError(Exception):
    """Base class of the client's errors."""


class Unreachable(NewsRAGError):
    """The service gave no answer (refused, timed out, cut off)."""


class StreamFailed(NewsRAGError):
    """The answer failed after its stream began (an `error` event)."""


class APIError(NewsRAGError):
    """The service answered with an error status."""

    def __init__(self, status: int, detail: str, errors: list[str] | None = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.errors = errors or [detail]


class InvalidRequest(APIError):
    """400 or 422: the request is malformed; `errors` names each problem."""


class NotFound(APIError):
    """404: no such article."""


class Conflict(APIError):
    """409: the id holds other content, or belongs to the seeds folder."""


class TooLarge(APIError):
    """413: the body or the article is over its limit."""


class UnsupportedMedia(APIError):
    """415: the file is not .txt, .md or .html."""


class Unavailable(APIError):
    """503: the store or the index is not ready; retry after `retry_after` seconds."""

    def __init__(self, status: int, detail: str, retry_after: float | None = None) -> None:
        super().__init__(status, detail)
        self.retry_after = retry_after


class ServerError(APIError):
    """A 5xx other than 503: the service failed."""


BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequest,
    404: NotFound,
    409: Conflict,
    413: TooLarge,
    415: UnsupportedMedia,
    422: InvalidRequest,
}
