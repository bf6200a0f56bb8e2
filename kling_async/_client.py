"""``KlingClient``: the public facade.

It puts together, each built with what it needs passed in: the transport (auth,
retries; opened on first use, closed for good by :meth:`KlingClient.aclose`), the
low-level task calls (``_task_calls.TaskCalls``, which the scheduler uses as its
backend), the synchronous calls (``_sync_calls``), the scheduler behind
:meth:`KlingClient.submit` and the family methods, and the callback receiver.
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, NamedTuple, Self

import aiohttp
from aiolimiter import AsyncLimiter

from kling_async._callbacks import CallbackReceiver
from kling_async._config import (
    ACCOUNT_COSTS_PER_SECOND,
    REGIONS,
    BackoffPolicy,
    CallbackRoute,
    LearnPolicy,
    Limits,
    PollPolicy,
    RetryPolicy,
    Timeouts,
)
from kling_async._conveniences import as_completed
from kling_async._family_methods import FamilyMethods
from kling_async._handle import TaskHandle
from kling_async.costs import BudgetGuard, CostEstimate, CostPolicy, Estimate, PriceTable
from kling_async.endpoints import ConcurrencyScope, Family, family
from kling_async.errors import ClientClosedError, KlingError, UsageError
from kling_async.models import KlingRequest, Task
from kling_async.scheduling._events import SchedulerEvents
from kling_async.scheduling._gate import CreateGate
from kling_async.scheduling._packs import parse_capacity
from kling_async.scheduling._scheduler import Scheduler
from kling_async.scheduling._slots import SlotPool
from kling_async.scheduling._stats import SchedulerStats
from kling_async.wire._auth import Credentials
from kling_async.wire._billing_calls import BillingEndpoints
from kling_async.wire._sync_calls import SyncEndpoints
from kling_async.wire._task_calls import CreateCall, TaskCalls, new_external_task_id
from kling_async.wire._tasks_query import TasksQueryCalls
from kling_async.wire._transport import Transport

__all__ = ["KlingClient", "as_completed", "new_external_task_id"]


ENV_BASE_URL = "KLING_BASE_URL"


class KlingClient(SyncEndpoints, BillingEndpoints, TasksQueryCalls, FamilyMethods):
    """Async client for the Kling API.

    Args:
        access_key: access key of an AK/SK pair (JWT mode); default
            ``KLING_ACCESS_KEY``.
        secret_key: its secret key; default ``KLING_SECRET_KEY``.
        api_key: a console API key sent as the bearer (``KLING_API_KEY``). The 2026
            design's families and ``/tasks`` accept only an API key: with an AK/SK
            pair they use ``KLING_API_KEY`` when it is set, and are refused before
            any request (:class:`~kling_async.APIKeyRequiredError`) when it is not.
        region: ``"singapore"`` (default, outside China) or ``"beijing"``.
        base_url: explicit base URL (e.g. a simulator); wins over ``region`` and
            over ``KLING_BASE_URL``.
        session: an ``aiohttp.ClientSession`` to use; not closed by the client.
        timeouts: connect and read timeouts of one request (:class:`Timeouts`).
        retry: retries of queries and of creates that never left (:class:`RetryPolicy`).
        limits: connection pool size and largest answer accepted (:class:`Limits`).
        capacity: concurrency slots per pack, e.g. ``{"video": 5, "image": 9,
            "try_on": 1}``; packs not given are learned from 1303 answers. With
            ``concurrency_scope="pack_model"`` a pack's figure applies to each model,
            and ``"video/kling-v3": 3`` sets one model's.
        concurrency_scope: ``"pack"`` (default, the safe reading: one limit per pack
            type) or ``"pack_model"`` (one per pack type and model version, as
            Kling's 2026 concurrency pages say); see :class:`ConcurrencyScope`.
        slots: a shared :class:`~kling_async.scheduling.SlotPool` (default: in-process).
        poll: when to poll (:class:`PollPolicy`; ``PollPolicy.scaled(0.01)`` for a
            simulator running at time scale 0.01). Without it, ``KLING_POLL_SCALE``
            from the environment is applied when set (:meth:`PollPolicy.from_env`).
        backoff: how a pack backs off after 1302/1303 and how long creates may
            fail to reach Kling (:class:`BackoffPolicy`).
        learn: how a capacity left out of ``capacity`` is learned (:class:`LearnPolicy`).
        max_backfill_wait: seconds a blocked image request lets smaller ones behind
            it pass (default: 2 typical image durations, scaled by the poll time scale).
        callback_route: where Kling's callbacks reach this client
            (:class:`~kling_async.CallbackRoute`: the public URL of your route, its
            token, webhook secrets; or just the URL). Every create then carries the
            URL and an unguessable token, and :attr:`callbacks` verifies and applies
            the deliveries; polling goes on as a safety net.
        costs: the price table and the budget (:class:`~kling_async.CostPolicy`).
            With a budget, no task is created whose estimate would take spent plus
            committed units over it; see :attr:`budget`.
        events: what the scheduler tells you as it happens
            (:class:`~kling_async.SchedulerEvents`: ``before_create`` before each
            create call leaves, a task created or settled, a pack stopped, Kling
            unreachable and back), given once here.

    Lifecycle: usable at once (the session opens on first use); ``async with``
    also checks a shared slot pool up front. After :meth:`aclose` every call raises
    :class:`~kling_async.ClientClosedError` and nothing reaches the network.

    Raises:
        MissingCredentialsError: no credentials given or found in the environment.
        ValueError: unknown ``region``, a bad ``base_url`` or ``KLING_POLL_SCALE``.

    Example:
        >>> async def main() -> None:                        # doctest: +SKIP
        ...     async with KlingClient() as client:
        ...         task = await client.create(TextToVideo(prompt="a red fox"))
        ...         print(task.task_id)
    """

    def __init__(
        self,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        api_key: str | None = None,
        region: str = "singapore",
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        limits: Limits | None = None,
        capacity: Mapping[str, int] | None = None,
        concurrency_scope: ConcurrencyScope | str = ConcurrencyScope.PACK,
        slots: SlotPool | None = None,
        poll: PollPolicy | None = None,
        backoff: BackoffPolicy | None = None,
        learn: LearnPolicy | None = None,
        max_backfill_wait: float | None = None,
        callback_route: CallbackRoute | str | None = None,
        costs: CostPolicy | None = None,
        events: SchedulerEvents | None = None,
    ) -> None:
        settings = _Settings.resolve(
            access_key=access_key,
            secret_key=secret_key,
            api_key=api_key,
            region=region,
            base_url=base_url,
            capacity=capacity,
            concurrency_scope=concurrency_scope,
            poll=poll,
            callback_route=callback_route,
            costs=costs,
        )
        self.prices: PriceTable = settings.prices
        """The price table :meth:`estimate` and the budget use."""
        self.budget: BudgetGuard | None = settings.budget
        """The budget guard (spent, committed, left: ``budget.snapshot()``), or None."""
        self._credentials = settings.credentials
        self._transport = Transport(
            settings.base_url,
            self._credentials,
            timeouts=timeouts,
            retry=retry,
            limits=limits,
            session=session,
        )
        self._costs_limiter = AsyncLimiter(1, 1 / ACCOUNT_COSTS_PER_SECOND)
        self._closed = False
        route = settings.route
        self._tasks = TaskCalls(self._transport, family)
        self._tasks_query = self._tasks.tasks
        self._gate = CreateGate(
            budget=self.budget, prices=self.prices, require_credentials=self._check_credentials
        )
        self._scheduler = Scheduler(
            self._tasks,
            capacity=capacity,
            scope=settings.scope,
            pool=slots,
            poll=settings.poll,
            backoff=backoff,
            learn=learn,
            max_backfill_wait=max_backfill_wait,
            callbacks=route is not None,
            events=events,
            gate=self._gate,
        )
        self._cancel = self._scheduler.cancel  # one bound method shared by every handle
        self.callbacks: CallbackReceiver | None = None
        """The callback receiver when a ``callback_route`` was given, else None."""
        if route is not None:
            self.callbacks = CallbackReceiver(
                self._scheduler.on_callback,
                public_url=route.url,
                token=route.token,
                webhook_secrets=route.secrets,
                trust_unsigned=route.trust_unsigned,
            )

    # -- lifecycle --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API base URL in use."""
        return self._transport.base_url

    @property
    def transport(self) -> Transport:
        """The underlying transport (request counts, settings)."""
        return self._transport

    async def __aenter__(self) -> Self:
        await self._scheduler.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def closed(self) -> bool:
        """True after :meth:`aclose`."""
        return self._closed

    async def aclose(self, *, settle_creates: float = 0.0) -> None:
        """Close for good (idempotent).

        Queued submissions end cancelled and are never created. Tasks created (or
        being created) end ``detached``: awaiting their handles raises
        :class:`~kling_async.TaskDetachedError` with their ids (they may still run
        and be billed; follow them later with :meth:`attach`), and one warning lists
        them. Then the session closes; every later call raises
        :class:`~kling_async.ClientClosedError`.

        Args:
            settle_creates: first admit no more creates and wait up to that many
                seconds for the create calls under way to come back, so their tasks
                end with known ids (default 0: close at once).
        """
        try:
            await self._scheduler.aclose(settle_creates=settle_creates)
        finally:
            self._closed = True
            await self._transport.close()

    @property
    def stopped(self) -> dict[str, KlingError]:
        """Packs whose creates stopped for good, with the error that stopped them:
        ``"*"`` (every pack) after an authentication error, a pack name after an
        account error (balance, permissions). Submissions there fail at once; make a
        new client once the key, balance or permissions are fixed."""
        return dict(self._scheduler.stopped)

    def __repr__(self) -> str:
        mode = self._credentials.mode
        hooks = ", callbacks=on" if self.callbacks is not None else ""
        return f"KlingClient(base_url={self.base_url!r}, auth={mode}{hooks})"

    # -- scheduled submissions ------------------------------------------------------

    @property
    def callback_url(self) -> str | None:
        """The ``callback_url`` put on creates by default (with its token), or None."""
        return self.callbacks.url if self.callbacks is not None else None

    def submit(
        self,
        request: KlingRequest,
        *,
        priority: int = 0,
        external_task_id: str | None = None,
        start_deadline: datetime | float | None = None,
        callback_url: str | None = None,
    ) -> TaskHandle:
        """Queue ``request`` for creation and return its handle at once.

        The scheduler creates it when its pack has free slots (never more than the
        capacity), backs off on 1302/1303, never creates it twice, and follows it
        until Kling says it ended. ``await handle`` gives the finished Task.

        Args:
            request: a validated request model.
            priority: higher goes first within the pack (then first come, first served).
            external_task_id: your id (wins over the model's); generated when absent.
            start_deadline: if not created by this time (aware datetime or Unix
                seconds), the submission expires unspent (state ``expired``).
            callback_url: sent as given for this task instead of the client's route
                (no token is added; its deliveries do not reach ``client.callbacks``).

        It passes the create gate first (see :mod:`kling_async.scheduling._gate`):
        every refusal below is raised here, before anything is queued or sent.

        Raises:
            CapacityError: the request needs more slots than its pack can ever hold.
            ValueError: the family answers inline (use its method), or conflicting ids.
            ClientClosedError: the client is closed (nothing is queued or sent).
            APIKeyRequiredError: a 2026-design request and only an AK/SK pair is
                configured (nothing is queued or sent).
            UnpricedRequestError: a budget is set and the request cannot be priced
                (or sends ``extra_body`` fields the price table does not read).
            BudgetExceededError: it could never fit the budget.
        """
        deadline = (
            start_deadline.timestamp() if isinstance(start_deadline, datetime) else (start_deadline)
        )
        record = self._scheduler.submit(
            request,
            external_task_id=external_task_id,
            priority=priority,
            start_deadline=deadline,
            callback_url=callback_url if callback_url is not None else self.callback_url,
        )
        return TaskHandle(record, self._cancel)

    def _check_credentials(self, fam: Family) -> None:
        fam.strategy.require_credentials(self._credentials, f"{fam.name} ({fam.path})")

    def estimate(self, request: KlingRequest) -> Estimate:
        """What ``request`` is expected to cost: units, pack and what the figure
        rests on (``units`` None when the price table cannot price it; ``basis``
        says why). It is read from the body that would be sent (``extra_body``
        included; fields the price table does not read are named in ``unpriced``).
        Nothing is sent."""
        return self.prices.estimate_request(request)

    def estimate_all(self, requests: Iterable[KlingRequest]) -> CostEstimate:
        """The estimates of many requests: per family and pack, totals per pack
        (packs never added together), and which ones have no estimate."""
        return CostEstimate.of(
            (str(i), self.estimate(request)) for i, request in enumerate(requests)
        )

    async def run(self, request: KlingRequest, **options: Any) -> Task:
        """Submit ``request`` and wait for the finished task (see :meth:`submit`).

        Raises:
            TaskFailedError: the task ended ``failed``.
            APIError: the create was refused (other than 1302/1303, which are retried).
        """
        return await self.submit(request, **options)

    async def attach(
        self,
        family_name: str | Family,
        *,
        task_id: str | None = None,
        external_task_id: str | None = None,
        cost: int | None = None,
        model_name: str | None = None,
    ) -> TaskHandle:
        """Follow a task created earlier (e.g. before a restart).

        Its slots count against its pack until Kling reports it ended. ``cost``
        gives an image task's ``n`` (default: 1 slot). Give the ``task_id``, the
        ``external_task_id``, or both: the task found must name what was given
        (with both, a task naming another external id is refused). ``model_name``
        says which model's slots it holds with ``concurrency_scope="pack_model"``
        (a task does not echo its model).

        Raises:
            TaskNotFoundError: Kling has no such task.
            TaskMismatchError: the answer names another task; nothing is followed.
            ClientClosedError: the client is closed (nothing is sent).
        """
        if task_id is None and external_task_id is None:
            raise UsageError("give task_id=, external_task_id= or both")
        self._check_credentials(family(family_name))
        record = await self._scheduler.attach(
            family(family_name).name,
            task_id=task_id,
            external_task_id=external_task_id,
            cost=cost,
            model_name=model_name,
        )
        return TaskHandle(record, self._cancel)

    async def drain(self) -> None:
        """Wait until nothing is queued, being created or in flight."""
        await self._scheduler.drain()

    def stats(self) -> SchedulerStats:
        """Scheduler figures (typed): ``packs[key]`` capacity (given or learned),
        slots in use, queued, created, 1302/1303 seen; ``pool``; ``tracker``
        request counts. ``stats().as_dict()`` gives plain dicts."""
        return self._scheduler.stats()

    def as_completed(self, handles: Iterable[TaskHandle]) -> AsyncIterator[TaskHandle]:
        """Yield ``handles`` as they finish (see :func:`kling_async.as_completed`)."""
        return as_completed(handles)

    # -- low-level task calls (no scheduling) ------------------------------------------

    async def create(
        self,
        request: KlingRequest,
        *,
        external_task_id: str | None = None,
        callback_url: str | None = None,
    ) -> Task:
        """Send one create call for ``request`` and return the new task.

        No scheduling happens here (no queue, no slots): over the concurrency limit
        this raises :class:`~kling_async.errors.ConcurrencyLimitError`. It passes the
        same create gate as :meth:`submit` and honours the budget: the estimate (from
        the body sent) is committed before the call leaves, given back when Kling
        provably created nothing, and becomes spent when this client sees the task
        end (:meth:`get_task`, :meth:`attach`); over the budget nothing is sent.

        Args:
            request: a validated request model (``TextToVideo(...)`` ...).
            external_task_id: your id for the task; wins over the model's field.
                One is generated when neither is given.
            callback_url: where Kling should POST status changes.

        Raises:
            CreateOutcomeUnknownError: the task may exist; query its external id (its
                estimate stays committed).
            APIError subclasses: Kling refused the create (nothing was created).
            TransportError: the request never reached Kling (retries ran out).
            ClientClosedError: the client is closed (nothing was sent).
            BudgetExceededError, UnpricedRequestError: the budget refuses it
                (nothing was sent).
            APIKeyRequiredError: a 2026-design request without an API key.
        """
        call = self._gate.admit(
            request,
            external_task_id=external_task_id,
            callback_url=callback_url,
            check=self._check_open,
        )
        return await self._gate.create_now(call, self._tasks.send)

    def _check_open(self, call: CreateCall | None = None) -> None:
        if self._closed:
            raise ClientClosedError("the client is closed; make a new KlingClient")

    async def get_task(
        self,
        family_name: str | Family,
        *,
        task_id: str | None = None,
        external_task_id: str | None = None,
    ) -> Task:
        """Look one task up by ``task_id``, by ``external_task_id``, or by both
        (verified: a task that is not the one asked for is never returned).

        Raises:
            TaskNotFoundError: no such task.
            TaskMismatchError: the answer names another task.
            ValueError: no id given, or the family has no query endpoint.
        """
        task = await self._tasks.get_task(
            family_name, task_id=task_id, external_task_id=external_task_id
        )
        if task.external_task_id is not None:
            self._gate.settle(task.external_task_id, task)  # a create()'s units, once ended
        return task

    def list_tasks(
        self,
        family_name: str | Family,
        *,
        page_size: int = 500,
        start_page: int = 1,
        max_pages: int | None = None,
    ) -> AsyncIterator[list[Task]]:
        """Iterate over pages of a family's tasks, newest first (see
        :meth:`TaskCalls.list_tasks <kling_async.wire._task_calls.TaskCalls.list_tasks>`).

        Example:
            >>> async for page in client.list_tasks("text2video"):  # doctest: +SKIP
            ...     for task in page: print(task.task_id, task.task_status)
        """
        return self._tasks.list_tasks(
            family_name, page_size=page_size, start_page=start_page, max_pages=max_pages
        )

    async def list_page(
        self, family_name: str | Family, *, page: int = 1, page_size: int = 500
    ) -> list[Task]:
        """Fetch one page of a family's task list (newest first)."""
        return await self._tasks.list_page(family_name, page=page, page_size=page_size)

    async def list_page_raw(
        self, family_name: str | Family, *, page: int = 1, page_size: int = 500
    ) -> list[Mapping[str, Any]]:
        """One page of a family's task list as raw JSON objects (parse what you need)."""
        return await self._tasks.list_page_raw(family_name, page=page, page_size=page_size)


def resolve_base_url(region: str = "singapore", base_url: str | None = None) -> str:
    """The API base URL a client with these settings talks to: ``base_url``, else
    ``KLING_BASE_URL``, else the region's host.

    Raises:
        UsageError: an unknown region, or a base URL that is not http(s).
    """
    if base_url is None:
        base_url = os.environ.get(ENV_BASE_URL) or None
    if base_url is None:
        if region not in REGIONS:
            raise UsageError(f"unknown region {region!r}; expected one of: {', '.join(REGIONS)}")
        base_url = REGIONS[region]
    if not base_url.startswith(("http://", "https://")):
        raise UsageError(f"base_url must start with http:// or https://, got {base_url!r}")
    return base_url


class _Settings(NamedTuple):
    """A client's settings, resolved and checked without building anything."""

    credentials: Credentials
    base_url: str
    scope: ConcurrencyScope
    poll: PollPolicy
    route: CallbackRoute | None
    prices: PriceTable
    budget: BudgetGuard | None

    @classmethod
    def resolve(
        cls,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        api_key: str | None = None,
        region: str = "singapore",
        base_url: str | None = None,
        capacity: Mapping[str, int] | None = None,
        concurrency_scope: ConcurrencyScope | str = ConcurrencyScope.PACK,
        poll: PollPolicy | None = None,
        callback_route: CallbackRoute | str | None = None,
        costs: CostPolicy | None = None,
        **_others: Any,
    ) -> _Settings:
        try:
            scope = ConcurrencyScope(concurrency_scope)
        except ValueError:
            raise UsageError(
                f"concurrency_scope must be one of: {', '.join(s.value for s in ConcurrencyScope)}"
                f"; got {concurrency_scope!r}"
            ) from None
        parse_capacity(capacity or {}, scope)
        route = CallbackRoute.of(callback_route)
        if route is not None:
            CallbackReceiver.check(route)
        costs = costs or CostPolicy()
        prices = costs.table()
        return cls(
            credentials=Credentials.resolve(
                access_key=access_key, secret_key=secret_key, api_key=api_key
            ),
            base_url=resolve_base_url(region, base_url),
            scope=scope,
            poll=poll if poll is not None else PollPolicy.from_env(),
            route=route,
            prices=prices,
            budget=costs.guard(prices),
        )


_SETTINGS = frozenset(inspect.signature(KlingClient.__init__).parameters) - {"self"}


def check_settings(client_kwargs: Mapping[str, Any]) -> Credentials:
    """Check what ``KlingClient(**client_kwargs)`` would check, building nothing: the
    names, the credentials, the region or base URL, capacities and their scope,
    ``KLING_POLL_SCALE``, the callback route, the prices and budget. A batch calls this
    before it writes its journal.

    Returns the credentials the client would use.

    Raises:
        UsageError: an unknown setting (with the closest known name) or a bad value;
            ``MissingCredentialsError`` when there are no credentials.
    """
    unknown = sorted(set(client_kwargs) - _SETTINGS)
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, sorted(_SETTINGS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"unknown KlingClient setting {name!r}{hint}")
    return _Settings.resolve(**client_kwargs).credentials
