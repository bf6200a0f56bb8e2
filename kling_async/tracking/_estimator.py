"""Learned task durations, used to poll when tasks are expected to finish.

Durations are observed from Kling's own timestamps (``updated_at - created_at`` of a
finished task), keyed by what the family's API design says decides them (family, mode
or resolution, requested duration: ``APIDesign.duration_key``). Each key keeps its
most recent observations; the distribution is the piecewise-linear empirical CDF.
Before enough observations exist, a key falls back to its family, then to a
uniform prior between the family's minimum and ``2 * typical - minimum`` (scaled).
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Hashable

from kling_async.endpoints import FAMILIES

__all__ = ["DurationEstimator"]

MIN_OBSERVATIONS = 5
KEEP = 200


class _Samples:
    __slots__ = ("order", "sorted")

    def __init__(self) -> None:
        self.order: deque[float] = deque()
        self.sorted: list[float] = []

    def add(self, value: float) -> None:
        self.order.append(value)
        bisect.insort(self.sorted, value)
        if len(self.order) > KEEP:
            old = self.order.popleft()
            del self.sorted[bisect.bisect_left(self.sorted, old)]

    def cdf(self, t: float) -> float:
        xs = self.sorted
        n = len(xs)
        if t < xs[0]:
            return 0.0
        if t >= xs[-1]:
            return 1.0
        i = bisect.bisect_right(xs, t) - 1
        lo, hi = xs[i], xs[i + 1]
        frac = 0.0 if hi == lo else (t - lo) / (hi - lo)
        return (i + frac) / (n - 1)


class DurationEstimator:
    """Distribution of task durations per key, with family and prior fallbacks."""

    def __init__(self, *, time_scale: float = 1.0) -> None:
        self.time_scale = time_scale
        self._by_key: dict[tuple[Hashable, ...], _Samples] = {}
        self._by_family: dict[str, _Samples] = {}

    def observe(self, key: tuple[Hashable, ...], seconds: float) -> None:
        """Record a finished task's duration."""
        if seconds <= 0:
            return
        self._by_key.setdefault(key, _Samples()).add(seconds)
        self._by_family.setdefault(str(key[0]), _Samples()).add(seconds)

    def prior(self, family: str) -> tuple[float, float]:
        """(low, high) of the uniform prior for ``family``, in scaled seconds."""
        fam = FAMILIES.get(family)
        typical = (fam.typical_seconds if fam else 300.0) * self.time_scale
        low = (fam.min_seconds if fam else 30.0) * self.time_scale
        return low, max(low * 1.01, 2 * typical - low)

    def typical(self, key: tuple[Hashable, ...]) -> float:
        """A central duration for ``key`` (median of what is known, else the prior's)."""
        samples = self._samples(key)
        if samples is not None:
            return samples.sorted[len(samples.sorted) // 2]
        low, high = self.prior(str(key[0]))
        return (low + high) / 2

    def high(self, key: tuple[Hashable, ...]) -> float:
        """The longest duration expected for ``key`` (longest seen, else the prior's top)."""
        samples = self._samples(key)
        if samples is not None:
            return samples.sorted[-1]
        return self.prior(str(key[0]))[1]

    def _samples(self, key: tuple[Hashable, ...]) -> _Samples | None:
        samples = self._by_key.get(key)
        if samples is not None and len(samples.order) >= MIN_OBSERVATIONS:
            return samples
        samples = self._by_family.get(str(key[0]))
        if samples is not None and len(samples.order) >= MIN_OBSERVATIONS:
            return samples
        return None

    def cdf(self, key: tuple[Hashable, ...], elapsed: float) -> float:
        """P(duration <= ``elapsed``) for tasks of ``key``."""
        samples = self._samples(key)
        if samples is not None:
            return samples.cdf(elapsed)
        low, high = self.prior(str(key[0]))
        return min(1.0, max(0.0, (elapsed - low) / (high - low)))

    def observations(self, key: tuple[Hashable, ...]) -> int:
        """How many durations are recorded under ``key`` itself."""
        samples = self._by_key.get(key)
        return 0 if samples is None else len(samples.order)
