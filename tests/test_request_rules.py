"""Strict, forward-compatible requests: the 2026 model rules (``kling_api_2026.md`` B),
misspelled fields refused with the closest name, ``extra_body``, unknown models."""

from __future__ import annotations

import uuid
import warnings
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from kling_async import UnknownModelWarning
from kling_async import models as m

IMG = "https://example.com/cat.png"
VID = "https://example.com/clip.mp4"
FIRST = {"image_url": IMG, "type": "first_frame"}
LAST = {"image_url": IMG, "type": "end_frame"}

# Every combination section B documents as allowed (with its date where it is new).
ALLOWED: list[tuple[str, type[BaseModel], dict[str, Any]]] = [
    (
        "t2v v3 4k (2026-04-23)",
        m.TextToVideo,
        {"model_name": "kling-v3", "mode": "4k", "prompt": "a"},
    ),
    ("t2v v3 3 s", m.TextToVideo, {"model_name": "kling-v3", "duration": "3", "prompt": "a"}),
    (
        "t2v v3 15 s with sound",
        m.TextToVideo,
        {"model_name": "kling-v3", "duration": 15, "sound": "on", "prompt": "a"},
    ),
    (
        "t2v v2-6 pro with sound",
        m.TextToVideo,
        {"model_name": "kling-v2-6", "mode": "pro", "sound": "on", "prompt": "a"},
    ),
    (
        "t2v v2-5-turbo std",
        m.TextToVideo,
        {"model_name": "kling-v2-5-turbo", "mode": "std", "prompt": "a"},
    ),
    (
        "t2v v3 multi-shot intelligence",
        m.TextToVideo,
        {"model_name": "kling-v3", "multi_shot": True, "shot_type": "intelligence", "prompt": "a"},
    ),
    ("i2v v3 4k", m.ImageToVideo, {"model_name": "kling-v3", "mode": "4k", "image": IMG}),
    (
        "i2v v3 multi-shot + last frame (2026-05-07)",
        m.ImageToVideo,
        {
            "model_name": "kling-v3",
            "image": IMG,
            "image_tail": IMG,
            "multi_shot": True,
            "shot_type": "intelligence",
            "prompt": "a",
        },
    ),
    (
        "i2v v3 three elements",
        m.ImageToVideo,
        {"model_name": "kling-v3", "image": IMG, "element_list": [{"element_id": 1}] * 3},
    ),
    (
        "i2v v2-6 voice control at 1080p",
        m.ImageToVideo,
        {
            "model_name": "kling-v2-6",
            "image": IMG,
            "mode": "pro",
            "sound": "on",
            "voice_list": [{"voice_id": "a"}, {"voice_id": "b"}],
            "duration": "10",
        },
    ),
    (
        "i2v v2-6 first + last frame, 1080p silent",
        m.ImageToVideo,
        {"model_name": "kling-v2-6", "image": IMG, "image_tail": IMG, "mode": "pro"},
    ),
    (
        "i2v v2-5-turbo first + last frame at 1080p",
        m.ImageToVideo,
        {"model_name": "kling-v2-5-turbo", "image": IMG, "image_tail": IMG, "mode": "pro"},
    ),
    (
        "omni v3-omni 4k",
        m.OmniVideo,
        {"model_name": "kling-v3-omni", "mode": "4k", "prompt": "a", "aspect_ratio": "16:9"},
    ),
    (
        "omni v3-omni 4k with a reference video (2026-06-17)",
        m.OmniVideo,
        {
            "model_name": "kling-v3-omni",
            "mode": "4k",
            "prompt": "a",
            "aspect_ratio": "16:9",
            "video_list": [{"video_url": VID, "refer_type": "feature"}],
        },
    ),
    (
        "omni v3-omni 15 s with a reference video (2026-06-17)",
        m.OmniVideo,
        {
            "model_name": "kling-v3-omni",
            "duration": "15",
            "prompt": "a",
            "aspect_ratio": "16:9",
            "video_list": [{"video_url": VID, "refer_type": "feature"}],
        },
    ),
    (
        "omni v3-omni multi-shot + first/last frame (2026-05-07)",
        m.OmniVideo,
        {
            "model_name": "kling-v3-omni",
            "prompt": "a",
            "multi_shot": True,
            "shot_type": "intelligence",
            "image_list": [FIRST, LAST],
        },
    ),
    (
        "omni v3-omni feature video + multi-shot intelligence (2026-06-17)",
        m.OmniVideo,
        {
            "model_name": "kling-v3-omni",
            "prompt": "a",
            "aspect_ratio": "1:1",
            "multi_shot": True,
            "shot_type": "intelligence",
            "video_list": [{"video_url": VID, "refer_type": "feature"}],
        },
    ),
    (
        "omni v3-omni sound on without video",
        m.OmniVideo,
        {"model_name": "kling-v3-omni", "prompt": "a", "aspect_ratio": "1:1", "sound": "on"},
    ),
    (
        "omni o1 8 s with a reference image",
        m.OmniVideo,
        {
            "model_name": "kling-video-o1",
            "prompt": "a",
            "aspect_ratio": "1:1",
            "duration": "8",
            "image_list": [{"image_url": IMG}],
        },
    ),
    (
        "motion control v3 (2026-03-04) with one element",
        m.MotionControl,
        {
            "model_name": "kling-v3",
            "image_url": IMG,
            "video_url": VID,
            "mode": "pro",
            "character_orientation": "video",
            "element_list": [{"element_id": 1}],
        },
    ),
]


@pytest.mark.parametrize(("name", "model", "data"), ALLOWED, ids=[a[0] for a in ALLOWED])
def test_documented_2026_combinations_are_accepted(
    name: str, model: type[BaseModel], data: dict[str, Any]
) -> None:
    """Each combination section B documents as allowed builds without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.model_validate(data)


# Every documented refusal of section B6, with the word the error must name.
REFUSED: list[tuple[str, type[BaseModel], dict[str, Any], str]] = [
    (
        "last frame only",
        m.ImageToVideo,
        {"model_name": "kling-v3", "image_tail": IMG},
        "first frame",
    ),
    (
        "kling-v1 discontinued (t2v)",
        m.TextToVideo,
        {"model_name": "kling-v1", "prompt": "a"},
        "discontinued",
    ),
    (
        "kling-v1 discontinued (i2v)",
        m.ImageToVideo,
        {"model_name": "kling-v1", "image": IMG},
        "discontinued",
    ),
    (
        "multi-shot on o1",
        m.OmniVideo,
        {"prompt": "a", "aspect_ratio": "1:1", "multi_shot": True, "shot_type": "intelligence"},
        "multi_shot",
    ),
    (
        "multi-shot on 2.6",
        m.TextToVideo,
        {
            "model_name": "kling-v2-6",
            "prompt": "a",
            "multi_shot": True,
            "shot_type": "intelligence",
        },
        "multi_shot",
    ),
    (
        "multi-shot on 2.5 turbo",
        m.ImageToVideo,
        {
            "model_name": "kling-v2-5-turbo",
            "image": IMG,
            "prompt": "a",
            "multi_shot": True,
            "shot_type": "intelligence",
        },
        "multi_shot",
    ),
    (
        "native audio on o1",
        m.OmniVideo,
        {"prompt": "a", "aspect_ratio": "1:1", "sound": "on"},
        "sound",
    ),
    (
        "native audio on 2.5 turbo",
        m.TextToVideo,
        {"model_name": "kling-v2-5-turbo", "prompt": "a", "sound": "on", "mode": "pro"},
        "sound",
    ),
    (
        "native audio on 2.6 at 720p",
        m.TextToVideo,
        {"model_name": "kling-v2-6", "prompt": "a", "sound": "on", "mode": "std"},
        "sound",
    ),
    (
        "2.6 first/last frame at 720p",
        m.ImageToVideo,
        {"model_name": "kling-v2-6", "image": IMG, "image_tail": IMG, "mode": "std"},
        "image_tail",
    ),
    (
        "2.6 first/last frame with sound",
        m.ImageToVideo,
        {"model_name": "kling-v2-6", "image": IMG, "image_tail": IMG, "mode": "pro", "sound": "on"},
        "silent",
    ),
    (
        "2.5 turbo first/last frame at 720p",
        m.ImageToVideo,
        {"model_name": "kling-v2-5-turbo", "image": IMG, "image_tail": IMG},
        "image_tail",
    ),
    (
        "voice control on t2v",
        m.TextToVideo,
        {"model_name": "kling-v3", "prompt": "a", "sound": "on", "voice_list": [{"voice_id": "v"}]},
        "voice_list",
    ),
    (
        "voice control on v3 i2v",
        m.ImageToVideo,
        {"model_name": "kling-v3", "image": IMG, "sound": "on", "voice_list": [{"voice_id": "v"}]},
        "voice_list",
    ),
    (
        "voice control on 2.6 i2v at 720p",
        m.ImageToVideo,
        {
            "model_name": "kling-v2-6",
            "image": IMG,
            "sound": "on",
            "mode": "std",
            "voice_list": [{"voice_id": "v"}],
        },
        "sound",
    ),
    ("4k on 2.6", m.TextToVideo, {"model_name": "kling-v2-6", "prompt": "a", "mode": "4k"}, "mode"),
    ("4k on o1", m.OmniVideo, {"prompt": "a", "aspect_ratio": "1:1", "mode": "4k"}, "mode"),
    (
        "4k on motion control",
        m.MotionControl,
        {
            "model_name": "kling-v3",
            "image_url": IMG,
            "video_url": VID,
            "mode": "4k",
            "character_orientation": "video",
        },
        "mode",
    ),
    (
        "omni base video with frames",
        m.OmniVideo,
        {
            "prompt": "a",
            "image_list": [FIRST],
            "video_list": [{"video_url": VID, "refer_type": "base"}],
        },
        "base",
    ),
    (
        "omni base video with multi-shot",
        m.OmniVideo,
        {
            "model_name": "kling-v3-omni",
            "prompt": "a",
            "multi_shot": True,
            "shot_type": "intelligence",
            "video_list": [{"video_url": VID, "refer_type": "base"}],
        },
        "base",
    ),
    (
        "omni base video with native audio",
        m.OmniVideo,
        {
            "model_name": "kling-v3-omni",
            "prompt": "a",
            "sound": "on",
            "video_list": [{"video_url": VID, "refer_type": "base"}],
        },
        "sound",
    ),
    (
        "omni feature video with sound",
        m.OmniVideo,
        {
            "model_name": "kling-v3-omni",
            "prompt": "a",
            "aspect_ratio": "1:1",
            "sound": "on",
            "video_list": [{"video_url": VID, "refer_type": "feature"}],
        },
        "sound",
    ),
    (
        "omni feature video + customize multi-shot",
        m.OmniVideo,
        {
            "model_name": "kling-v3-omni",
            "aspect_ratio": "1:1",
            "multi_shot": True,
            "shot_type": "customize",
            "multi_prompt": [{"index": 1, "prompt": "a", "duration": "5"}],
            "video_list": [{"video_url": VID, "refer_type": "feature"}],
        },
        "intelligence",
    ),
    (
        "o1 elements with first + last frame",
        m.OmniVideo,
        {"prompt": "a", "image_list": [FIRST, LAST], "element_list": [{"element_id": 1}]},
        "element_list",
    ),
    (
        "o1 plain text 7 s",
        m.OmniVideo,
        {"prompt": "a", "aspect_ratio": "1:1", "duration": "7"},
        "duration",
    ),
    (
        "o1 11 s",
        m.OmniVideo,
        {
            "prompt": "a",
            "aspect_ratio": "1:1",
            "duration": "11",
            "image_list": [{"image_url": IMG}],
        },
        "duration",
    ),
    (
        "frames allow at most 3 elements",
        m.OmniVideo,
        {
            "model_name": "kling-v3-omni",
            "prompt": "a",
            "image_list": [FIRST],
            "element_list": [{"element_id": 1}] * 4,
        },
        "element_list",
    ),
    (
        "v2-master takes no mode",
        m.TextToVideo,
        {"model_name": "kling-v2-master", "prompt": "a", "mode": "std"},
        "mode",
    ),
    (
        "v2.x takes no cfg_scale",
        m.ImageToVideo,
        {"model_name": "kling-v2-5-turbo", "image": IMG, "cfg_scale": 0.5},
        "cfg_scale",
    ),
    (
        "v2-6 5/10 s only",
        m.TextToVideo,
        {"model_name": "kling-v2-6", "prompt": "a", "duration": "8"},
        "duration",
    ),
    (
        "elements on 2.6 i2v",
        m.ImageToVideo,
        {"model_name": "kling-v2-6", "image": IMG, "element_list": [{"element_id": 1}]},
        "element_list",
    ),
    (
        "two elements on motion control v3",
        m.MotionControl,
        {
            "model_name": "kling-v3",
            "image_url": IMG,
            "video_url": VID,
            "mode": "pro",
            "character_orientation": "video",
            "element_list": [{"element_id": 1}] * 2,
        },
        "element_list",
    ),
    (
        "elements on motion control 2.6",
        m.MotionControl,
        {
            "image_url": IMG,
            "video_url": VID,
            "mode": "pro",
            "character_orientation": "video",
            "element_list": [{"element_id": 1}],
        },
        "element_list",
    ),
]


@pytest.mark.parametrize(("name", "model", "data", "word"), REFUSED, ids=[r[0] for r in REFUSED])
def test_documented_refusals_are_refused_before_sending(
    name: str, model: type[BaseModel], data: dict[str, Any], word: str
) -> None:
    """Each refusal section B documents is a ValidationError naming what is wrong."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert word in str(caught.value)


# -- misspelled fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "data", "bad", "suggestion"),
    [
        (m.TextToVideo, {"prompt": "a", "duraton": "10"}, "duraton", "duration"),
        (m.TextToVideo, {"prompt": "a", "model": "kling-v3"}, "model", "model_name"),
        (m.ImageToVideo, {"image": IMG, "image_tall": IMG}, "image_tall", "image_tail"),
        (m.ImageGeneration, {"prompt": "a", "aspect": "1:1"}, "aspect", "aspect_ratio"),
        (m.TextToVideo, {"prompt": "a", "watermark_info": {"enable": True}}, "enable", "enabled"),
        (
            m.TextToSpeech,
            {"text": "hi", "voice_id": "v", "voice_language": "en", "voice_sped": 1.0},
            "voice_sped",
            "voice_speed",
        ),
        (
            m.OmniVideo,
            {"prompt": "a", "image_list": [{"image_ur": IMG, "type": "first_frame"}]},
            "image_ur",
            "image_url",
        ),
    ],
)
def test_misspelled_fields_are_refused_naming_the_closest_field(
    model: type[BaseModel], data: dict[str, Any], bad: str, suggestion: str
) -> None:
    """A field the model does not declare is refused: Kling would ignore it and bill
    its defaults (a misspelled duration is a 5 s video)."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    text = str(caught.value)
    assert f"unknown field {bad!r}" in text and f"did you mean {suggestion!r}" in text


def test_a_field_with_no_close_name_is_still_refused_and_points_to_extra_body() -> None:
    """No suggestion when nothing is close, but the escape hatch is named."""
    with pytest.raises(ValidationError, match="extra_body") as caught:
        m.TextToVideo(prompt="a", zzz_knob=1)  # type: ignore[call-arg]
    assert "did you mean" not in str(caught.value)


def test_assignment_of_an_unknown_field_is_refused() -> None:
    """Setting an undeclared attribute on a request is refused too."""
    req = m.TextToVideo(prompt="a")
    with pytest.raises(ValidationError):
        req.duraton = "10"  # type: ignore[attr-defined]


# -- extra_body -----------------------------------------------------------------------------


def test_extra_body_is_sent_as_given_and_wins_over_a_declared_field() -> None:
    """extra_body: fields (or values) the client does not know yet, merged on top."""
    req = m.TextToVideo(
        model_name="kling-v3", prompt="a", mode="pro", extra_body={"mode": "8k", "new": [1]}
    )
    assert req.payload() == {"model_name": "kling-v3", "prompt": "a", "mode": "8k", "new": [1]}
    sync = m.TextToSpeech(text="hi", voice_id="v", voice_language="en", extra_body={"x": 1})
    assert sync.payload()["x"] == 1


@pytest.mark.parametrize("managed", ["external_task_id", "callback_url", "n", "series_amount"])
def test_extra_body_cannot_set_what_the_client_manages(managed: str) -> None:
    """Ids, callbacks and slot counts never come from extra_body."""
    with pytest.raises(ValidationError, match=managed):
        m.ImageGeneration(prompt="a", extra_body={managed: 3})


# -- unknown models -------------------------------------------------------------------------


def test_unknown_model_is_sent_with_one_warning_per_name() -> None:
    """A model Kling added after this release: warned once, sent as given, checked only
    against the rules that hold for every model."""
    name = f"kling-v9-{uuid.uuid4().hex[:6]}"
    with pytest.warns(UnknownModelWarning, match=name):
        req = m.TextToVideo(model_name=name, prompt="a", mode="8k", duration="20", sound="on")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = m.TextToVideo(model_name=name, prompt="b")  # no second warning
    assert req.payload() == {
        "model_name": name,
        "prompt": "a",
        "mode": "8k",
        "duration": "20",
        "sound": "on",
    }
    assert again.model_name == name
    with pytest.warns(UnknownModelWarning), pytest.raises(ValidationError, match="prompt"):
        m.TextToVideo(model_name=name + "-x")  # every-model rules still apply


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (m.ImageToVideo, {"image": IMG}),
        (m.OmniVideo, {"prompt": "a", "aspect_ratio": "1:1"}),
        (
            m.MotionControl,
            {"image_url": IMG, "video_url": VID, "mode": "std", "character_orientation": "image"},
        ),
        (m.ImageGeneration, {"prompt": "a"}),
        (m.OmniImage, {"prompt": "a"}),
        (m.MultiImageToImage, {"subject_image_list": [{"subject_image": IMG}]}),
        (m.VirtualTryOn, {"human_image": IMG, "cloth_image": IMG}),
        (m.MultiImageToVideo, {"prompt": "a", "image_list": [{"image": IMG}]}),
    ],
)
def test_every_family_with_a_model_name_takes_unknown_models(
    model: type[BaseModel], data: dict[str, Any]
) -> None:
    """Unknown model names pass (with a warning) on every family that has model_name."""
    name = f"future-model-{uuid.uuid4().hex[:6]}"
    with pytest.warns(UnknownModelWarning):
        req = model.model_validate({**data, "model_name": name})
    assert req.model_dump()["model_name"] == name
