"""The per-family coroutines: generated from the models (never stale), typed keywords,
and the same submission path as ``submit()``."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import ValidationError

from kling_async import FAMILIES, ImageGeneration, KlingClient, PollPolicy, TextToVideo, endpoints
from kling_async.endpoints import REQUEST_MODELS
from kling_async.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
FAST = PollPolicy.scaled(0.001)


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "gen_family_methods.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_methods_are_up_to_date() -> None:
    """kling_async/_family_methods.py is exactly what the generator writes today."""
    gen = _generator()
    assert gen.main(["--check"]) == 0, "run: python scripts/gen_family_methods.py"


def test_every_task_family_has_a_method_whose_keywords_are_its_fields() -> None:
    """One coroutine per family with a request model; its keywords = the model's fields
    plus the submit options."""
    gen = _generator()
    covered = {model for _, model in gen.methods(endpoints)}
    assert covered == {cls.__name__ for cls in REQUEST_MODELS.values()}
    options = {"priority", "external_task_id", "start_deadline", "callback_url"}
    for name, model_name in gen.methods(endpoints):
        model = next(c for c in REQUEST_MODELS.values() if c.__name__ == model_name)
        params = set(inspect.signature(getattr(KlingClient, name)).parameters)
        assert params == {"self", "request"} | set(model.model_fields) | options, name
        assert FAMILIES[model.family].pack is not None


async def test_keywords_build_validate_and_run_the_model() -> None:
    """Fields as keywords run the task; bad values are refused before any request."""
    async with Simulator(time_scale=0.001) as sim, sim.client(poll=FAST) as client:
        task = await client.text_to_video(prompt="fox", model_name="kling-v3", duration=10)
        image = await client.image_generation(prompt="cat", n=2, external_task_id="img-1")
        with pytest.raises(ValidationError, match="duration"):
            await client.text_to_video(prompt="fox", model_name="kling-v3", duration=20)
        with pytest.raises(TypeError, match="not both"):
            await client.text_to_video(TextToVideo(prompt="a"), prompt="b")
        with pytest.raises(TypeError, match="expected a TextToVideo"):
            await client.text_to_video(ImageGeneration(prompt="a"))  # type: ignore[arg-type]
        ready = await client.text_to_video(TextToVideo(prompt="ready-made"))
    assert task.succeeded and image.succeeded and ready.succeeded
    assert len(image.task_result.images) == 2
    assert sim.stats.creates_by_external_id["img-1"] == 1
    assert sim.stats.total_creates == 3


async def test_lip_sync_family_runs_end_to_end() -> None:
    """The older single-call lip-sync is a family: created, tracked, resolved."""
    async with Simulator(time_scale=0.001) as sim, sim.client(poll=FAST) as client:
        task = await client.lip_sync(
            input={
                "video_url": "https://example.com/v.mp4",
                "mode": "text2video",
                "text": "hello",
                "voice_id": "oversea_male1",
                "voice_language": "en",
            }
        )
        with pytest.raises(ValidationError, match="audio_type"):
            await client.lip_sync(input={"video_id": "1", "mode": "audio2video"})
    assert task.succeeded and task.result_urls()
    assert sim.stats.requests_by_endpoint["POST /v1/videos/lip-sync"] == 1
