"""The wire layer: everything that speaks HTTP to Kling, and nothing above it.

``_auth`` (JWT and API-key credentials), ``_transport`` (the one aiohttp session,
the envelope, the retry loop), ``_retry`` (pure retry rules and the one backoff
formula), ``_lookup`` (what a lookup may believe), ``_task_calls`` (create, the
verified lookup, lists), ``_tasks_query`` (``GET``/``POST /tasks``), ``_sync_calls``
and ``_billing_calls`` (endpoints that answer inline). Nothing here imports the
scheduler, the tracker, the client or the batch.
"""
