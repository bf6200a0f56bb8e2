"""The 2026 design's request models: the documented example and every per-model rule
of ``kling_api_2026.md`` C3, refused before the network with the field named."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from pydantic import ValidationError

from kling_async import (
    FAMILIES,
    BaseVideo,
    Design,
    ElementInput,
    FeatureVideo,
    FirstFrame,
    ImageToVideo2026,
    LastFrame,
    MotionControl2026,
    MotionImage,
    MotionVideo,
    OmniVideo2026,
    Pack,
    PriceTable,
    ReferImage,
    Task,
    TaskStatus,
    TextPrompt,
    TextToVideo2026,
    UnknownModelWarning,
    VideoSettings,
    VoiceInput,
)
from kling_async.endpoints import REQUEST_MODELS

IMG = "https://example.com/a.png"
IMG2 = "https://example.com/b.png"
VID = "https://example.com/v.mp4"


def refused(cls: type[Any], match: str, /, **fields: Any) -> None:
    with pytest.raises(ValidationError, match=match):
        cls(**fields)


def test_the_documented_example_builds_the_documented_body() -> None:
    """C3's example: prompt with @references, first frame, element, settings, options."""
    request = OmniVideo2026(
        model="kling-3.0-omni",
        contents=[
            TextPrompt(text="@image_1 walks towards @Zhang"),
            FirstFrame(url="https://example.com/a.png"),
            ElementInput(element_id=321930081569316, id="Zhang"),
        ],
        settings=VideoSettings(resolution="1080p", duration=5, audio="off", multi_shot=False),
        callback_url="https://example.com/cb",
        external_task_id="job-42",
        watermark=False,
    )
    assert FAMILIES[request.family].create_path(request) == "/omni-video/kling-3.0-omni"
    assert request.payload() == {
        "contents": [
            {"type": "prompt", "text": "@image_1 walks towards @Zhang"},
            {"type": "first_frame", "url": "https://example.com/a.png"},
            {"type": "element", "element_id": "321930081569316", "id": "Zhang"},
        ],
        "settings": {"resolution": "1080p", "duration": 5, "audio": "off", "multi_shot": False},
        "options": {
            "external_task_id": "job-42",
            "callback_url": "https://example.com/cb",
            "watermark_info": {"enabled": False},
        },
    }


def test_the_client_s_ids_travel_in_options_and_the_model_in_the_path() -> None:
    """create_body puts external_task_id / callback_url in options, never at the top;
    text-to-video sends ``prompt`` as a string; ``duration`` is an integer."""
    request = TextToVideo2026(
        model="kling-3.0-turbo", prompt="a fox", settings=VideoSettings(duration="7")
    )
    body = request.create_body("ext-1", "https://example.com/cb/tok")
    assert body == {
        "prompt": "a fox",
        "settings": {"duration": 7},
        "options": {"external_task_id": "ext-1", "callback_url": "https://example.com/cb/tok"},
    }
    assert "model" not in body and "external_task_id" not in body
    assert FAMILIES[request.family].create_path(request) == "/text-to-video/kling-3.0-turbo"


def test_families_are_in_the_table_with_their_pack_and_slot() -> None:
    for name in ("text_to_video_2026", "image_to_video_2026", "omni_video_2026",
                 "motion_control_2026"):  # fmt: skip
        fam = FAMILIES[name]
        assert fam.design is Design.D2026 and fam.pack is Pack.VIDEO
        assert fam.api_key_only and not fam.list_supported and fam.slot_cost({}) == 1
        assert REQUEST_MODELS[name].family == name
    with pytest.raises(ValueError, match="model"):
        FAMILIES["text_to_video_2026"].create_path(
            TextToVideo2026.model_construct(prompt="p")  # skips validation: no model
        )


def test_prompt_shorthand_and_bytes_are_accepted(tmp_path: Any) -> None:
    """``prompt=`` becomes the leading prompt item; bytes are sent as Base64."""
    request = ImageToVideo2026(
        model="kling-3.0", prompt="she smiles", contents=[FirstFrame(url=b"\x89PNG-bytes")]
    )
    contents = request.payload()["contents"]
    assert contents[0] == {"type": "prompt", "text": "she smiles"}
    assert contents[1]["type"] == "first_frame" and contents[1]["url"] == "iVBORy1ieXRlcw=="
    items = ImageToVideo2026.model_validate(
        {"model": "kling-3.0", "contents": [{"type": "first_frame", "url": IMG}]}
    ).contents
    assert isinstance(items[0], FirstFrame)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"model": "kling-3.0", "prompt": "x", "setings": {}}, "did you mean 'settings'"),
        ({"model": "kling-3.0", "prompt": "x", "mode": "pro"}, "unknown field 'mode'"),
        ({"model": "kling-3.0", "prompt": "x", "settings": {"sound": "on"}}, "sound"),
        ({"model": "kling-3.0", "prompt": "x", "settings": {"resolution": "8k"}}, "resolution"),
        ({"model": "kling-3.0", "prompt": "x", "settings": {"duration": 5.5}}, "duration"),
        ({"model": "kling-3.0", "prompt": "x", "settings": {"duration": True}}, "whole number"),
        ({"model": "kling-3.0", "prompt": ""}, "prompt"),
        ({"model": "kling 3.0", "prompt": "x"}, "model"),
        ({"model": "kling-3.0", "prompt": "x", "settings": {"character_orientation": "video"}},
         "character_orientation"),
    ],
)  # fmt: skip
def test_text_to_video_shape_errors_name_the_field(fields: dict[str, Any], match: str) -> None:
    refused(TextToVideo2026, match, **fields)


@pytest.mark.parametrize(
    ("model", "settings", "match"),
    [
        # 3.0 Turbo: 720p/1080p, 3-15 s, no audio field (always on)
        ("kling-3.0-turbo", {"resolution": "4k"}, "resolution '4k' is not available"),
        ("kling-3.0-turbo", {"duration": 2}, r"3\.\.15"),
        ("kling-3.0-turbo", {"duration": 16}, r"3\.\.15"),
        ("kling-3.0-turbo", {"audio": "off"}, "always have sound"),
        # 3.0: 4k ok, 3-15, native/off
        ("kling-3.0", {"audio": "original"}, "audio 'original' is not available"),
        ("kling-3.0", {"duration": 20}, r"3\.\.15"),
        # 2.6: 5/10, native needs 1080p, no multi-shot
        ("kling-2.6", {"duration": 7}, "5 or 10"),
        ("kling-2.6", {"audio": "native"}, '"native" needs settings.resolution "1080p"'),
        ("kling-2.6", {"resolution": "4k"}, "resolution"),
        ("kling-2.6", {"multi_shot": True}, "multi_shot is not accepted"),
        # 2.5 Turbo: 5/10, no native audio, no multi-shot
        ("kling-2.5-turbo", {"audio": "native"}, "audio 'native' is not available"),
        ("kling-2.5-turbo", {"duration": 3}, "5 or 10"),
        ("kling-2.5-turbo", {"multi_shot": False}, "multi_shot is not accepted"),
    ],
)
def test_text_to_video_per_model_rules(model: str, settings: dict[str, Any], match: str) -> None:
    refused(TextToVideo2026, match, model=model, prompt="a fox", settings=settings)


@pytest.mark.parametrize(
    ("model", "settings"),
    [
        ("kling-3.0-turbo", {"resolution": "1080p", "duration": 15, "multi_shot": True}),
        ("kling-3.0", {"resolution": "4k", "duration": 3, "audio": "native"}),
        ("kling-2.6", {"resolution": "1080p", "duration": 10, "audio": "native"}),
        ("kling-2.5-turbo", {"resolution": "1080p", "duration": 5, "audio": "off"}),
    ],
)
def test_text_to_video_allowed_combinations(model: str, settings: dict[str, Any]) -> None:
    TextToVideo2026(model=model, prompt="a fox", settings=settings)


def test_prompt_length_follows_the_model() -> None:
    """3072 characters on 3.0 / 3.0 Turbo text-to-video, 2500 elsewhere."""
    TextToVideo2026(model="kling-3.0", prompt="x" * 3072, settings={"multi_shot": False})
    refused(TextToVideo2026, "at most 2500", model="kling-2.6", prompt="x" * 2501)
    refused(TextToVideo2026, "3072", model="kling-3.0", prompt="x" * 3073)


def test_multi_shot_prompts_add_up_to_the_duration() -> None:
    """Shots in the prompt: 1-6, >= 1 s each, summing to the duration (default 5)."""
    TextToVideo2026(model="kling-3.0", prompt="shot 1, 3, a fox; shot 2, 2, it runs;")
    refused(TextToVideo2026, "last 4 s but settings.duration is 5", model="kling-3.0",
            prompt="shot 1, 2, a; shot 2, 2, b;")  # fmt: skip
    many = " ".join(f"shot {i}, 1, s{i};" for i in range(1, 8))
    refused(TextToVideo2026, "1 to 6 shots", model="kling-3.0", prompt=many,
            settings={"duration": 7})  # fmt: skip
    refused(TextToVideo2026, "at least 1 s", model="kling-3.0",
            prompt="shot 1, 0, a; shot 2, 5, b;")  # fmt: skip
    # a single shot is asked for: the prompt is plain text
    TextToVideo2026(model="kling-3.0", prompt="shot 1, 9, words;", settings={"multi_shot": False})


def test_multi_shot_default_is_documented_and_not_sent() -> None:
    """Nothing is sent unless asked: Kling's default (multi-shot on 3.0) applies,
    which the model and the docstrings say."""
    from kling_async.models._rules2026 import T2V_2026

    request = TextToVideo2026(model="kling-3.0", prompt="a fox")
    assert "settings" not in request.payload()
    assert T2V_2026["kling-3.0"].multi_shot_default is True
    assert "multi-shot on for Kling 3.0" in (VideoSettings.__doc__ or "")
    assert "on by default" in (TextToVideo2026.__doc__ or "")


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"model": "kling-3.0", "contents": [TextPrompt(text="x")]}, "needs a first_frame"),
        ({"model": "kling-3.0", "contents": [LastFrame(url=IMG)]}, "needs a first_frame"),
        ({"model": "kling-3.0-turbo", "contents": [FirstFrame(url=IMG), LastFrame(url=IMG2)]},
         "first frame only"),
        ({"model": "kling-2.6", "contents": [FirstFrame(url=IMG), LastFrame(url=IMG2)]},
         '"1080p"'),
        ({"model": "kling-2.6", "contents": [FirstFrame(url=IMG), LastFrame(url=IMG2)],
          "settings": {"resolution": "1080p", "audio": "native"}}, "silent only"),
        ({"model": "kling-2.5-turbo", "contents": [FirstFrame(url=IMG), LastFrame(url=IMG2)]},
         '"1080p"'),
        ({"model": "kling-3.0", "contents": [FirstFrame(url=IMG), FirstFrame(url=IMG2)]},
         "one 'first_frame'"),
        ({"model": "kling-3.0", "contents": [FirstFrame(url=IMG)]
          + [ElementInput(element_id=i) for i in range(1, 5)]}, "at most 3 element"),
        ({"model": "kling-2.6", "contents": [FirstFrame(url=IMG), ElementInput(element_id=1)]},
         "no element items"),
        ({"model": "kling-3.0", "contents": [FirstFrame(url=IMG), VoiceInput(voice_id="v")],
          "settings": {"audio": "native"}}, "no voice items"),
        ({"model": "kling-2.6", "contents": [FirstFrame(url=IMG), VoiceInput(voice_id="v")]},
         'audio "native"'),
        ({"model": "kling-2.6", "settings": {"audio": "native", "resolution": "1080p"},
          "contents": [FirstFrame(url=IMG)] + [VoiceInput(voice_id=f"v{i}") for i in range(3)]},
         "at most 2 voice"),
        ({"model": "kling-3.0", "contents": [FirstFrame(url=IMG)],
          "settings": {"aspect_ratio": "16:9"}}, "aspect_ratio is not accepted"),
        ({"model": "kling-3.0", "contents": [FirstFrame(url=IMG), ReferImage(url=IMG2)]},
         "'refer_image' items are not accepted"),
        ({"model": "kling-3.0", "prompt": "a", "contents": [TextPrompt(text="b"),
          FirstFrame(url=IMG)]}, "give the prompt once"),
        ({"model": "kling-3.0", "contents": [FirstFrame(url=IMG, id="a"),
          ElementInput(element_id=1, id="a")]}, "repeated: a"),
        ({"model": "kling-3.0", "contents": [{"type": "first_frame", "url": "data:x;base64,AA"}]},
         "data:"),
    ],
)  # fmt: skip
def test_image_to_video_rules(fields: dict[str, Any], match: str) -> None:
    refused(ImageToVideo2026, match, **fields)


def test_image_to_video_allowed() -> None:
    ImageToVideo2026(
        model="kling-2.6",
        contents=[FirstFrame(url=IMG), VoiceInput(voice_id="v1"), VoiceInput(voice_id="v2")],
        settings={"audio": "native", "resolution": "1080p", "duration": 10},
    )
    ImageToVideo2026(
        model="kling-3.0",
        contents=[FirstFrame(url=IMG), LastFrame(url=IMG2)] + [ElementInput(element_id=1)] * 1,
        settings={"resolution": "4k", "multi_shot": True, "duration": 15},
    )


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"model": "kling-3.0-omni", "prompt": "x"}, "aspect_ratio is required"),
        ({"model": "kling-3.0-omni", "contents": [BaseVideo(url=VID), FeatureVideo(url=VID)]},
         "one reference video"),
        ({"model": "kling-3.0-omni", "contents": [BaseVideo(url=VID)]}, "multi_shot=False"),
        ({"model": "kling-3.0-omni", "contents": [BaseVideo(url=VID), FirstFrame(url=IMG)],
          "settings": {"multi_shot": False}}, "no first_frame"),
        ({"model": "kling-3.0-omni", "contents": [BaseVideo(url=VID)],
          "settings": {"multi_shot": False, "audio": "native"}}, "no native audio"),
        ({"model": "kling-3.0-omni", "contents": [FeatureVideo(url=VID)],
          "settings": {"audio": "original"}}, 'audio "off"'),
        ({"model": "kling-3.0-omni", "contents": [FeatureVideo(url=VID)]
          + [ReferImage(url=IMG)] * 5}, "at most 4 with a reference video"),
        ({"model": "kling-3.0-omni", "settings": {"aspect_ratio": "1:1"},
          "contents": [ReferImage(url=IMG)] * 4 + [ElementInput(element_id=1)] * 4},
         "at most 7 without"),
        ({"model": "kling-3.0-omni", "contents": [FirstFrame(url=IMG)]
          + [ElementInput(element_id=i) for i in range(1, 5)]}, "with frames, at most 3"),
        ({"model": "kling-o1", "prompt": "x", "settings": {"aspect_ratio": "1:1", "duration": 7}},
         r"5 or 10 on kling-o1 \(omni-video\) without a refer_image"),
        ({"model": "kling-o1", "contents": [ReferImage(url=IMG)],
          "settings": {"aspect_ratio": "1:1", "duration": 12}}, r"3\.\.10"),
        ({"model": "kling-o1", "contents": [FirstFrame(url=IMG), LastFrame(url=IMG2),
          ElementInput(element_id=1)]}, "no elements together"),
        ({"model": "kling-o1", "prompt": "x", "settings": {"aspect_ratio": "1:1",
          "audio": "native"}}, "audio 'native' is not available"),
        ({"model": "kling-o1", "prompt": "x", "settings": {"aspect_ratio": "1:1",
          "multi_shot": True}}, "multi_shot is not accepted"),
        ({"model": "kling-o1", "prompt": "x", "settings": {"aspect_ratio": "1:1",
          "resolution": "4k"}}, "resolution"),
        ({"model": "kling-3.0-omni", "contents": [{"type": "base_video", "url": "ftp://e.com/v"}],
          "settings": {"multi_shot": False}}, "http"),
    ],
)  # fmt: skip
def test_omni_video_rules(fields: dict[str, Any], match: str) -> None:
    refused(OmniVideo2026, match, **fields)


def test_omni_video_allowed() -> None:
    OmniVideo2026(model="kling-o1", contents=[ReferImage(url=IMG)], settings={"duration": 7,
                  "aspect_ratio": "1:1"})  # fmt: skip
    settings = {"multi_shot": False, "audio": "original", "resolution": "4k"}
    OmniVideo2026(model="kling-3.0-omni", contents=[BaseVideo(url=VID)], settings=settings)
    OmniVideo2026(model="kling-3.0-omni", contents=[FeatureVideo(url=VID)]
                  + [ReferImage(url=IMG)] * 4)  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"model": "kling-3.0", "contents": [MotionImage(url=IMG), MotionVideo(url=VID)]},
         "character_orientation is required"),
        ({"model": "kling-3.0", "contents": [MotionVideo(url=VID)],
          "settings": {"character_orientation": "image"}}, "needs an image"),
        ({"model": "kling-3.0", "contents": [MotionImage(url=IMG)],
          "settings": {"character_orientation": "image"}}, "needs a video"),
        ({"model": "kling-3.0", "contents": [MotionImage(url=IMG), MotionVideo(url=VID)],
          "settings": {"character_orientation": "image", "resolution": "4k"}}, "resolution"),
        ({"model": "kling-3.0", "contents": [MotionImage(url=IMG), MotionVideo(url=VID)],
          "settings": {"character_orientation": "image", "duration": 5}}, "follows"),
        ({"model": "kling-3.0", "contents": [MotionImage(url=IMG), MotionVideo(url=VID)],
          "settings": {"character_orientation": "image", "audio": "native"}}, "audio"),
        ({"model": "kling-3.0", "contents": [MotionImage(url=IMG), MotionVideo(url=VID),
          ElementInput(element_id=1), ElementInput(element_id=2)],
          "settings": {"character_orientation": "video"}}, "at most 1 element"),
        ({"model": "kling-2.6", "contents": [MotionImage(url=IMG), MotionVideo(url=VID),
          ElementInput(element_id=1)], "settings": {"character_orientation": "video"}},
         "no element items"),
        ({"model": "kling-3.0", "contents": [MotionImage(url=IMG), MotionVideo(url=VID)],
          "settings": {"character_orientation": "image", "multi_shot": False}}, "multi_shot"),
        ({"model": "kling-3.0", "contents": [MotionImage(url=IMG), MotionVideo(url=VID),
          FirstFrame(url=IMG)], "settings": {"character_orientation": "image"}},
         "'first_frame' items are not accepted"),
    ],
)  # fmt: skip
def test_motion_control_rules(fields: dict[str, Any], match: str) -> None:
    refused(MotionControl2026, match, **fields)


def test_unknown_models_pass_with_one_warning_and_only_common_rules() -> None:
    with pytest.warns(UnknownModelWarning, match="model 'kling-4.0'"):
        request = TextToVideo2026(model="kling-4.0", prompt="x", settings={"duration": 30})
    assert FAMILIES[request.family].create_path(request) == "/text-to-video/kling-4.0"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TextToVideo2026(model="kling-4.0", prompt="y")  # warned once per name
    with pytest.warns(UnknownModelWarning):
        # motion control never takes 4K or a duration, whatever the model
        refused(MotionControl2026, "follows", model="kling-9", settings={
            "character_orientation": "image", "duration": 5},
            contents=[MotionImage(url=IMG), MotionVideo(url=VID)])  # fmt: skip


def test_slot_model_is_the_v1_name_of_the_same_model_version() -> None:
    """Per-model concurrency counts 3.0 on both designs together."""
    assert TextToVideo2026(model="kling-3.0", prompt="x").model_name == "kling-v3"
    assert TextToVideo2026(model="kling-3.0-turbo", prompt="x").model_name == "kling-3.0-turbo"
    o1 = OmniVideo2026(model="kling-o1", prompt="x", settings={"aspect_ratio": "1:1"})
    assert o1.model_name == "kling-video-o1"


def test_prices_of_2026_requests() -> None:
    """Turbo has its own entries (C6: 0.8/1.0 per s, always with sound); the other
    models are priced like their /v1 names (kling-3.0 = kling-v3); motion control is
    billed on its output (no estimate)."""
    prices = PriceTable.default()
    turbo = TextToVideo2026(model="kling-3.0-turbo", prompt="x", settings={"duration": 3})
    assert prices.estimate(turbo.family, turbo.pricing_params()).units == pytest.approx(2.4)
    v3 = TextToVideo2026(model="kling-3.0", prompt="x", settings={
        "resolution": "1080p", "audio": "native", "duration": 10})  # fmt: skip
    assert prices.estimate(v3.family, v3.pricing_params()).units == pytest.approx(12.0)
    omni = OmniVideo2026(model="kling-3.0-omni", prompt="x", settings={"aspect_ratio": "1:1",
                         "duration": 3})  # fmt: skip
    assert prices.estimate(omni.family, omni.pricing_params()).units == pytest.approx(1.8)
    # a job file's raw fields are read through the model
    raw = prices.estimate("text_to_video_2026", {"model": "kling-2.6", "prompt": "x"})
    assert raw.units == pytest.approx(1.5)
    bad = prices.estimate("text_to_video_2026", {"model": "kling-2.6", "prompt": "x",
                          "settings": {"duration": 7}})  # fmt: skip
    assert bad.units is None and "not valid" in bad.basis
    motion = MotionControl2026(model="kling-3.0", settings={"character_orientation": "image"},
                               contents=[MotionImage(url=IMG), MotionVideo(url=VID)])  # fmt: skip
    assert prices.estimate(motion.family, motion.pricing_params()).units is None


def test_the_2026_task_record_maps_into_task_without_losing_fields() -> None:
    """C4's live record: id, succeeded, external_id, outputs, billing, string durations."""
    record = {
        "id": "926484082518392851",
        "status": "succeeded",
        "message": "",
        "create_time": 1758000000000,
        "update_time": 1758000030000,
        "external_id": "job-42",
        "outputs": [
            {"type": "video", "id": "v1", "url": "https://x/v.mp4", "duration": "3.041"},
            {"type": "image", "url": "https://x/i.png", "group_id": "g"},
            {"type": "audio", "id": "a1", "mp3_url": "https://x/a.mp3",
             "wav_url": "https://x/a.wav", "mp3_duration": "3.0"},
            {"type": "voice", "id": "voice-1", "name": "Ann", "url": "https://x/t.mp3"},
            {"type": "element", "id": 829836802793406551, "name": "Zhang", "references": []},
            {"type": "hologram", "url": "https://x/h"},
            "not an object",
        ],
        "billing": [
            {"charge_type": "unit", "amount": "2.4", "package_type": "video"},
            {"charge_type": "cash", "cash_type": "balance", "amount": "0.5", "currency": "USD"},
        ],
    }  # fmt: skip
    task = Task.model_validate(record)
    assert task.task_id == "926484082518392851" and task.task_status is TaskStatus.SUCCEED
    assert task.succeeded and task.external_task_id == "job-42" and task.design == "2026"
    assert task.created_at == 1758000000000 and task.updated_at == 1758000030000
    assert task.result_files() == [
        ("https://x/v.mp4", "video"),
        ("https://x/i.png", "image"),
        ("https://x/a.mp3", "audio"),
        ("https://x/a.wav", "audio"),
    ]
    assert task.task_result.videos[0].duration == "3.041"
    assert task.task_result.voices[0].voice_id == "voice-1"
    assert task.task_result.elements[0].element_id == "829836802793406551"
    assert task.final_unit_deduction == "2.4"
    assert task.final_balance_deduction == {"quota": "0.5", "cash_type": "balance",
                                            "currency": "USD"}  # fmt: skip
    extras = task.model_extra or {}
    assert extras["outputs"] == record["outputs"] and extras["billing"] == record["billing"]


@pytest.mark.parametrize(
    ("record", "status", "external"),
    [
        ({"id": 1, "status": "submitted"}, TaskStatus.SUBMITTED, None),
        ({"id": "1", "status": "processing", "external_id": "", "outputs": None},
         TaskStatus.PROCESSING, None),
        ({"id": "1", "status": "failed", "message": "risk", "billing": None},
         TaskStatus.FAILED, None),
        ({"id": "1", "status": "succeed", "external_id": 7}, TaskStatus.SUCCEED, "7"),
        ({"id": "1", "status": "done?"}, TaskStatus.UNKNOWN, None),
    ],
)  # fmt: skip
def test_records_of_every_shape_are_read(
    record: dict[str, Any], status: TaskStatus, external: str | None
) -> None:
    task = Task.model_validate(record)
    assert task.task_status is status and task.external_task_id == external
    assert task.result_urls() == [] and not (status is TaskStatus.UNKNOWN and task.is_terminal)
