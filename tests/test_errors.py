"""Error mapping: every documented Kling code becomes its typed exception."""

from __future__ import annotations

import pytest

from kling_async import errors as e

CODE_TABLE = [
    (401, 1000, e.AuthenticationError, False),
    (401, 1001, e.AuthenticationError, False),
    (401, 1002, e.AuthenticationError, False),
    (401, 1003, e.AuthenticationError, False),
    (401, 1004, e.AuthenticationError, False),
    (429, 1100, e.AccountError, False),
    (429, 1101, e.AccountError, False),
    (429, 1102, e.InsufficientBalanceError, False),
    (403, 1103, e.PermissionDeniedError, False),
    (400, 1200, e.InvalidRequestError, False),
    (400, 1201, e.InvalidRequestError, False),
    (404, 1202, e.InvalidRequestError, False),
    (404, 1203, e.InvalidRequestError, False),
    (400, 1300, e.PolicyError, False),
    (400, 1301, e.PolicyError, False),
    (429, 1302, e.RateLimitError, True),
    (429, 1303, e.ConcurrencyLimitError, True),
    (429, 1304, e.PolicyError, False),
    (500, 5000, e.ServerError, True),
    (503, 5001, e.ServerError, True),
    (504, 5002, e.ServerError, True),
]


@pytest.mark.parametrize(("http", "code", "cls", "retryable"), CODE_TABLE)
def test_every_documented_code_maps_to_its_type(
    http: int, code: int, cls: type[e.APIError], retryable: bool
) -> None:
    """Each code in kling_api.md §4 yields exactly the documented class."""
    err = e.error_for_code(code, "msg", http_status=http, request_id="rid", retry_after=2.0)
    assert type(err) is cls
    assert isinstance(err, e.APIError) and isinstance(err, e.KlingError)
    assert (err.http_status, err.code, err.message, err.request_id) == (http, code, "msg", "rid")
    assert err.retry_after == 2.0
    assert err.retryable is retryable
    assert str(code) in str(err) and "rid" in str(err)


def test_1303_is_a_rate_limit_error() -> None:
    """ConcurrencyLimitError (1303) is caught by `except RateLimitError`."""
    assert issubclass(e.ConcurrencyLimitError, e.RateLimitError)


@pytest.mark.parametrize(
    ("http", "code", "cls"),
    [(400, 1999, e.APIError), (502, 7777, e.ServerError), (200, 42, e.APIError)],
)
def test_unknown_codes_fall_back(http: int, code: int, cls: type[e.APIError]) -> None:
    """Undocumented codes become APIError, or ServerError when HTTP says 5xx."""
    assert type(e.error_for_code(code, "x", http_status=http)) is cls


def test_transport_and_response_errors_are_not_api_errors() -> None:
    """Network faults and malformed answers are kept apart from API answers."""
    assert not issubclass(e.TransportError, e.APIError)
    assert not issubclass(e.ResponseError, e.APIError)
    assert e.TransportError("x", request_sent=False).retryable
    assert e.ResponseError("x", http_status=502).is_server_fault
    assert not e.ResponseError("x", http_status=200).is_server_fault


def test_timeout_error_is_builtin_timeout() -> None:
    """TaskTimeoutError can be caught as the builtin TimeoutError."""
    assert issubclass(e.TaskTimeoutError, TimeoutError)


def test_create_outcome_unknown_names_the_external_id() -> None:
    """The unknown-outcome error tells the caller which external id to query."""
    err = e.CreateOutcomeUnknownError("text2video", "job-7", TimeoutError("slow"))
    assert err.external_task_id == "job-7" and err.family == "text2video"
    assert "job-7" in str(err) and "query" in str(err)
    assert not err.retryable
