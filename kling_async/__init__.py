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
from kling_async._client import KlingClient, new_external_task_id
from kling_async._config import DEFAULT, REGIONS, Limits, RetryPolicy, Timeouts
from kling_async.endpoints import FAMILIES, Family, Pack
from kling_async.errors import (
    AccountError,
    APIError,
    AuthenticationError,
    CapacityError,
    ConcurrencyLimitError,
    CreateOutcomeUnknownError,
    InsufficientBalanceError,
    InvalidRequestError,
    KlingError,
    PermissionDeniedError,
    PolicyError,
    RateLimitError,
    ResponseError,
    ServerError,
    TaskCancelledError,
    TaskExpiredError,
    TaskFailedError,
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
    VideoEffects,
    VideoExtend,
    VideoToAudio,
    VirtualTryOn,
    encode_bytes,
    encode_file,
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
    "AdvancedCustomElement",
    "AdvancedLipSync",
    "AuthenticationError",
    "Avatar",
    "CameraConfig",
    "CameraControl",
    "CapacityError",
    "ConcurrencyLimitError",
    "CreateOutcomeUnknownError",
    "CustomVoice",
    "Family",
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
    "Limits",
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
    "PermissionDeniedError",
    "PolicyError",
    "RateLimitError",
    "ResponseError",
    "RetryPolicy",
    "ServerError",
    "SyncResult",
    "Task",
    "TaskCancelledError",
    "TaskExpiredError",
    "TaskFailedError",
    "TaskNotFoundError",
    "TaskResult",
    "TaskStatus",
    "TaskTimeoutError",
    "TextToAudio",
    "TextToSpeech",
    "TextToVideo",
    "Timeouts",
    "TransportError",
    "VideoEffects",
    "VideoExtend",
    "VideoToAudio",
    "VirtualTryOn",
    "__version__",
    "encode_bytes",
    "encode_file",
    "new_external_task_id",
]

# Tracebacks and reprs say ``kling_async.X`` rather than the private module.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith("kling_async._"):
        _obj.__module__ = "kling_async"
del _name, _obj
