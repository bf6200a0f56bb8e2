"""Tracking: pollers that follow tasks until Kling says they ended."""

from kling_async.tracking._backend import Backend
from kling_async.tracking._estimator import DurationEstimator
from kling_async.tracking._tracker import Tracker

__all__ = ["Backend", "DurationEstimator", "Tracker"]
