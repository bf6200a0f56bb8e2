"""The retry policy as pure functions, checked by tables."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from kling_async import RetryPolicy
from kling_async import errors as e
from kling_async.wire._retry import (
    Decision,
    backoff_delay,
    classify,
    parse_retry_after,
    retry_delay,
)


def _api(code: int, http: int = 400) -> e.APIError:
    return e.error_for_code(code, "m", http_status=http)


CLASSIFY_TABLE = [
    # error, idempotent (query), decision
    (e.TransportError("dns", request_sent=False), True, Decision.RETRY),
    (e.TransportError("dns", request_sent=False), False, Decision.RETRY),
    (e.TransportError("reset", request_sent=True), True, Decision.RETRY),
    (e.TransportError("reset", request_sent=True), False, Decision.UNKNOWN_OUTCOME),
    (_api(5000, 500), True, Decision.RETRY),
    (_api(5001, 503), True, Decision.RETRY),
    (_api(5002, 504), True, Decision.RETRY),
    (_api(5000, 500), False, Decision.UNKNOWN_OUTCOME),
    (_api(5002, 504), False, Decision.UNKNOWN_OUTCOME),
    (_api(1302, 429), True, Decision.RETRY),
    (_api(1302, 429), False, Decision.FAIL),
    (_api(1303, 429), False, Decision.FAIL),
    (_api(1003, 401), True, Decision.REAUTH),
    (_api(1004, 401), False, Decision.REAUTH),
    (_api(1000, 401), True, Decision.FAIL),
    (_api(1002, 401), False, Decision.FAIL),
    (_api(1102, 429), False, Decision.FAIL),
    (_api(1201, 400), True, Decision.FAIL),
    (_api(1301, 400), False, Decision.FAIL),
    (e.ResponseError("html", http_status=502), True, Decision.RETRY),
    (e.ResponseError("junk", http_status=200), True, Decision.FAIL),
    (e.ResponseError("junk", http_status=200), False, Decision.UNKNOWN_OUTCOME),
]


@pytest.mark.parametrize(("error", "idempotent", "decision"), CLASSIFY_TABLE)
def test_classify(error: e.KlingError, idempotent: bool, decision: Decision) -> None:
    """A create is never resent unless the request provably never left."""
    assert classify(error, idempotent=idempotent) is decision


@pytest.mark.parametrize("attempt", range(12))
def test_backoff_is_full_jitter_within_the_exponential_ceiling(attempt: int) -> None:
    """Delays lie in [0, min(cap, initial * 2**attempt)] and use the whole range."""
    rng = random.Random(attempt)
    ceiling = min(8.0, 0.5 * 2**attempt)
    draws = [backoff_delay(attempt, initial=0.5, cap=8.0, rng=rng) for _ in range(400)]
    assert all(0 <= d <= ceiling for d in draws)
    assert min(draws) < ceiling * 0.1 and max(draws) > ceiling * 0.9


def test_backoff_rejects_negative_attempt() -> None:
    """A negative attempt number is a programming error."""
    with pytest.raises(ValueError):
        backoff_delay(-1, initial=1, cap=2)


NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("-4", 0.0),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("Thu, 26 Nov 2026 12:00:30 GMT", 30.0),
        ("Thu, 26 Nov 2026 11:59:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    """Retry-After is read as seconds or an HTTP date; junk is ignored."""
    assert parse_retry_after(header, now=NOW) == expected


def test_retry_after_wins_but_is_capped() -> None:
    """A server Retry-After replaces the jitter but never exceeds max_retry_after."""
    policy = RetryPolicy(max_retry_after=10.0)
    assert retry_delay(0, policy, retry_after=3.0) == 3.0
    assert retry_delay(0, policy, retry_after=3600.0) == 10.0
    far = (NOW + timedelta(hours=5)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert retry_delay(0, policy, retry_after=parse_retry_after(far, now=NOW)) == 10.0


def test_retry_delay_without_header_uses_backoff() -> None:
    """Without Retry-After the delay is the jittered exponential backoff."""
    policy = RetryPolicy(initial_delay=1.0, max_delay=4.0)
    rng = random.Random(1)
    assert all(0 <= retry_delay(5, policy, rng=rng) <= 4.0 for _ in range(100))


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"initial_delay": -1}, {"max_retry_after": -0.1}]
)
def test_policy_rejects_bad_values(kwargs: dict[str, float]) -> None:
    """RetryPolicy validates its own fields."""
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
