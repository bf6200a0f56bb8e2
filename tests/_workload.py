"""The mixed workload the tests use: 60 % text-to-video, 30 % images (n 1-4), 10 % try-on."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from kling_async.endpoints import REQUEST_MODELS
from kling_async.models import KlingRequest

URL = "https://example.com/x.png"


def mixed_rows(count: int, seed: int = 0, *, max_n: int = 4) -> list[dict[str, Any]]:
    """Job rows (id, family, params), deterministic for a seed."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for i in range(count):
        r = rng.random()
        if r < 0.6:
            rows.append({"id": f"v{i}", "family": "text2video", "params": {"prompt": f"v{i}"}})
        elif r < 0.9:
            rows.append(
                {
                    "id": f"i{i}",
                    "family": "image_generation",
                    "params": {"prompt": f"i{i}", "n": rng.randint(1, max_n)},
                }
            )
        else:
            rows.append(
                {
                    "id": f"t{i}",
                    "family": "virtual_try_on",
                    "params": {"human_image": URL, "cloth_image": URL},
                }
            )
    return rows


def mixed_requests(count: int, seed: int = 0, *, max_n: int = 4) -> list[KlingRequest]:
    """The same workload as validated request models."""
    return [
        REQUEST_MODELS[row["family"]].model_validate(row["params"])
        for row in mixed_rows(count, seed, max_n=max_n)
    ]


def write_jobs(path: Path, count: int, seed: int = 0) -> list[dict[str, Any]]:
    """Write the workload as a JSONL job file; returns the rows."""
    rows = mixed_rows(count, seed)
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    return rows
