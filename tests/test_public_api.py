"""The public surface is deliberate: adding or removing a name must be intended."""

from __future__ import annotations

import inspect

import kling_async

EXPECTED = {
    "CallbackRoute",
    "CostPolicy",
    "SchedulerEvents",
    "ExternalIdInUseError",
    "InternalError",
    "MissingExtraError",
    "TaskPendingError",
    "UsageError",
    "Budget",
    "BudgetExceededError",
    "CostEstimate",
    "Estimate",
    "PriceTable",
    "UnpricedRequestError",
    "UnsafeFileError",
    "BillingPage",
    "BillingRecord",
    "enable_logging",
    "TrackerStats",
    "SchedulerStats",
    "PoolStats",
    "PendingCreate",
    "PackStats",
    "AccountStats",
    "AccountPackStats",
    "TaskDetachedError",
    "SchedulerFailedError",
    "ClientClosedError",
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
    "ConcurrencyScope",
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
    "TaskMismatchError",
    "TaskNotFoundError",
    "TaskResult",
    "TaskStatus",
    "TaskTimeoutError",
    "TextToAudio",
    "TextToSpeech",
    "TextToVideo",
    "Timeouts",
    "TransportError",
    "UnknownModelWarning",
    "VideoEffects",
    "VideoExtend",
    "VideoToAudio",
    "VirtualTryOn",
    "__version__",
    "encode_bytes",
    "encode_file",
    "new_external_task_id",
    "BackoffPolicy",
    "HandleState",
    "LearnPolicy",
    "LipSync",
    "LipSyncInput",
    "LocalSlotPool",
    "PollPolicy",
    "SlotPool",
    "TaskHandle",
    "as_completed",
    "RedisSlotPool",
    "SlotPoolUnavailableError",
    # the 2026 design
    "APIKeyRequiredError",
    "BaseVideo",
    "Design",
    "ElementInput",
    "FeatureVideo",
    "FirstFrame",
    "ImageToVideo2026",
    "LastFrame",
    "MotionControl2026",
    "MotionImage",
    "MotionVideo",
    "OmniVideo2026",
    "ReferImage",
    "TaskPage",
    "TextPrompt",
    "TextToVideo2026",
    "VideoSettings",
    "VoiceInput",
}


def test_exported_names_are_exactly_the_intended_ones() -> None:
    """__all__ changes only on purpose (update EXPECTED with the change)."""
    assert set(kling_async.__all__) == EXPECTED
    for name in kling_async.__all__:
        assert hasattr(kling_async, name), name


def test_exported_private_classes_report_the_public_module() -> None:
    """Tracebacks say kling_async.X, not kling_async._private.X."""
    for name in kling_async.__all__:
        obj = getattr(kling_async, name)
        if isinstance(obj, type):
            parts = obj.__module__.split(".")
            assert not any(p.startswith("_") for p in parts), (name, obj.__module__)
    assert kling_async.KlingClient.__module__ == "kling_async"


def test_every_public_callable_has_a_docstring() -> None:
    """Public classes, functions and their public methods are documented."""
    missing = []
    for name in kling_async.__all__:
        obj = getattr(kling_async, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            if not (obj.__doc__ or "").strip():
                missing.append(name)
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or not callable(member):
                        continue
                    if not (getattr(member, "__doc__", "") or "").strip():
                        missing.append(f"{name}.{attr}")
    assert not missing, missing
