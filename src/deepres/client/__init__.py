"""The deepres Python SDK: `Client`, `AsyncClient`, typed errors, answer models, webhooks.

from deepres.client import Client, NotFound, verify_webhook

with Client("http://127.0.0.1:8000", token) as deepres:
    job_id = deepres.create_job(bbox=(-11.765, 24.734, -11.752, 24.747),
                                dates=["2020-02-19"], cloud_cover=20)
    deepres.wait(job_id)
    deepres.download(job_id, "results/")
"""

from deepres.client.async_sdk import AsyncClient
from deepres.client.errors import (
    BadRequest,
    Conflict,
    DeepresAPIError,
    Forbidden,
    NotFound,
    PaymentRequired,
    PipelineFailed,
    RateLimited,
    ServerError,
    Unauthorized,
    WaitTimeout,
)
from deepres.client.models import (
    AvailableDate,
    DateEntry,
    DatesResult,
    JobStatus,
    JobSummary,
    PipelineStatus,
)
from deepres.client.sdk import Client
from deepres.client.webhooks import verify_webhook

__all__ = [
    "AsyncClient",
    "AvailableDate",
    "BadRequest",
    "Client",
    "Conflict",
    "DateEntry",
    "DatesResult",
    "DeepresAPIError",
    "Forbidden",
    "JobStatus",
    "JobSummary",
    "NotFound",
    "PaymentRequired",
    "PipelineFailed",
    "PipelineStatus",
    "RateLimited",
    "ServerError",
    "Unauthorized",
    "WaitTimeout",
    "verify_webhook",
]
