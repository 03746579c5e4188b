"""The DeepresError tree. No HTTP here: the API maps each class to a status code in one table."""

from __future__ import annotations


class DeepresError(Exception):
    """Base of every error deepres raises on purpose; `message` is shown to the user."""

    code = "DEEPRES-ERROR"

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidInput(DeepresError):
    code = "INVALID-INPUT"


class InvalidAOI(InvalidInput):
    code = "INVALID-AOI"


class AOIAreaOutOfRange(InvalidInput):
    """The AOI is smaller or larger than the service accepts; `detail` holds the spec's sentence."""

    code = "AOI-AREA-OUT-OF-RANGE"

    def __init__(self, area_hectares: float, min_ha: float = 3, max_ha: float = 25_000) -> None:
        sentence = (
            f"AOI must be between {min_ha:,.0f} and {max_ha:,.0f} hectares. "
            f"Given area: {area_hectares} hectares."
        )
        super().__init__(sentence, detail=sentence)
        self.area_hectares = area_hectares


class TooManyVertices(DeepresError):
    code = "AOI-TOO-COMPLEX"


class Unauthorized(DeepresError):
    code = "UNAUTHORIZED"


class Forbidden(DeepresError):
    code = "FORBIDDEN"


class NotFound(DeepresError):
    code = "NOT-FOUND"


class Conflict(DeepresError):
    code = "CONFLICT"


class PipelineNotResolved(Conflict):
    code = "PIPELINE-NOT-RESOLVED"


class PipelineFailed(DeepresError):
    code = "PIPELINE-FAILED"


class PaymentRequired(DeepresError):
    code = "ALLOCATION-EXCEEDED"


class PayloadTooLarge(DeepresError):
    code = "PAYLOAD-TOO-LARGE"


class RateLimited(DeepresError):
    code = "RATE-LIMITED"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CatalogUnavailable(DeepresError):
    """The configured STAC catalog could not be reached or read."""

    code = "CATALOG-UNAVAILABLE"


class SceneReadError(DeepresError):
    """A scene's raster could not be read."""

    code = "SCENE-READ-ERROR"


class CallbackRefused(InvalidInput):
    """A callback URL points where deepres will not send (private, loopback, metadata...)."""

    code = "CALLBACK-REFUSED"


class ModelNotFound(InvalidInput):
    code = "MODEL-NOT-FOUND"


class Stopped(DeepresError):
    """Work interrupted because its process was asked to stop; it is to be taken up again."""

    code = "STOPPED"


class StorageError(DeepresError):
    code = "STORAGE-ERROR"
