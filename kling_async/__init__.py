"""kling_async: an asyncio-native client for the Kling AI generation API.

Quick start::

    import asyncio
    from kling_async import KlingClient, TextToVideo

    async def main() -> None:
        async with KlingClient() as client:          # KLING_ACCESS_KEY / KLING_SECRET_KEY
            task = await client.create(TextToVideo(prompt="a red fox in snow"))
            print(task.task_id, task.task_status)

    asyncio.run(main())
"""

from __future__ import annotations

from kling_async._auth import MissingCredentialsError
from kling_async._client import KlingClient, as_completed, new_external_task_id
from kling_async._config import (
    DEFAULT,
    REGIONS,
    BackoffPolicy,
    LearnPolicy,
    Limits,
    PollPolicy,
    RetryPolicy,
    Timeouts,
)
from kling_async._handle import HandleState, TaskHandle
from kling_async._logging import enable_logging, logging_from_env
from kling_async.endpoints import FAMILIES, ConcurrencyScope, Family, Pack
from kling_async.errors import (
    AccountError,
    APIError,
    AuthenticationError,
    CapacityError,
    ClientClosedError,
    ConcurrencyLimitError,
    CreateOutcomeUnknownError,
    InsufficientBalanceError,
    InvalidRequestError,
    KlingError,
    PermissionDeniedError,
    PolicyError,
    RateLimitError,
    ResponseError,
    SchedulerFailedError,
    ServerError,
    TaskCancelledError,
    TaskDetachedError,
    TaskExpiredError,
    TaskFailedError,
    TaskMismatchError,
    TaskNotFoundError,
    TaskTimeoutError,
    TransportError,
)
from kling_async.models import (
    AccountCosts,
    AdvancedCustomElement,
    AdvancedLipSync,
    AIMultiShot,
    Avatar,
    CameraConfig,
    CameraControl,
    CustomVoice,
    IdentifyFace,
    IdentifyFaceResult,
    ImageExpand,
    ImageGeneration,
    ImageRecognize,
    ImageToVideo,
    KlingRequest,
    LipSync,
    LipSyncInput,
    MotionControl,
    MultiElements,
    MultiElementsInitSelection,
    MultiElementsSelection,
    MultiElementsSession,
    MultiImageToImage,
    MultiImageToVideo,
    OmniImage,
    OmniVideo,
    SyncResult,
    Task,
    TaskResult,
    TaskStatus,
    TextToAudio,
    TextToSpeech,
    TextToVideo,
    UnknownModelWarning,
    VideoEffects,
    VideoExtend,
    VideoToAudio,
    VirtualTryOn,
    encode_bytes,
    encode_file,
)
from kling_async.scheduling import (
    AccountPackStats,
    AccountStats,
    LocalSlotPool,
    PackStats,
    PendingCreate,
    PoolStats,
    RedisSlotPool,
    SchedulerStats,
    SlotPool,
    SlotPoolUnavailableError,
    TrackerStats,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT",
    "FAMILIES",
    "REGIONS",
    "AIMultiShot",
    "APIError",
    "AccountCosts",
    "AccountError",
    "AccountPackStats",
    "AccountStats",
    "AdvancedCustomElement",
    "AdvancedLipSync",
    "AuthenticationError",
    "Avatar",
    "BackoffPolicy",
    "CameraConfig",
    "CameraControl",
    "CapacityError",
    "ClientClosedError",
    "ConcurrencyLimitError",
    "ConcurrencyScope",
    "CreateOutcomeUnknownError",
    "CustomVoice",
    "Family",
    "HandleState",
    "IdentifyFace",
    "IdentifyFaceResult",
    "ImageExpand",
    "ImageGeneration",
    "ImageRecognize",
    "ImageToVideo",
    "InsufficientBalanceError",
    "InvalidRequestError",
    "KlingClient",
    "KlingError",
    "KlingRequest",
    "LearnPolicy",
    "Limits",
    "LipSync",
    "LipSyncInput",
    "LocalSlotPool",
    "MissingCredentialsError",
    "MotionControl",
    "MultiElements",
    "MultiElementsInitSelection",
    "MultiElementsSelection",
    "MultiElementsSession",
    "MultiImageToImage",
    "MultiImageToVideo",
    "OmniImage",
    "OmniVideo",
    "Pack",
    "PackStats",
    "PendingCreate",
    "PermissionDeniedError",
    "PolicyError",
    "PollPolicy",
    "PoolStats",
    "RateLimitError",
    "RedisSlotPool",
    "ResponseError",
    "RetryPolicy",
    "SchedulerFailedError",
    "SchedulerStats",
    "ServerError",
    "SlotPool",
    "SlotPoolUnavailableError",
    "SyncResult",
    "Task",
    "TaskCancelledError",
    "TaskDetachedError",
    "TaskExpiredError",
    "TaskFailedError",
    "TaskHandle",
    "TaskMismatchError",
    "TaskNotFoundError",
    "TaskResult",
    "TaskStatus",
    "TaskTimeoutError",
    "TextToAudio",
    "TextToSpeech",
    "TextToVideo",
    "Timeouts",
    "TrackerStats",
    "TransportError",
    "UnknownModelWarning",
    "VideoEffects",
    "VideoExtend",
    "VideoToAudio",
    "VirtualTryOn",
    "__version__",
    "as_completed",
    "enable_logging",
    "encode_bytes",
    "encode_file",
    "new_external_task_id",
]

# Tracebacks and reprs say ``kling_async.X`` rather than the private module.
for _name in __all__:
    _obj = globals()[_name]
    _module = getattr(_obj, "__module__", None) or ""
    if callable(_obj) and any(part.startswith("_") for part in _module.split(".")):
        _obj.__module__ = "kling_async"
del _name, _obj, _module

logging_from_env()  # KLING_LOG=debug|info|warning|error: readable logs on stderr
