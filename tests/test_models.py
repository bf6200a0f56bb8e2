"""Request models: documented-valid examples pass, invalid ones name the field."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from kling_async import FAMILIES, Design, Pack
from kling_async import models as m
from kling_async.endpoints import REQUEST_MODELS

IMG = "https://example.com/cat.png"
VID = "https://example.com/clip.mp4"
B64 = base64.b64encode(b"\x89PNG fake image bytes").decode()

VALID: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (m.TextToVideo, {"prompt": "a fox"}),
    (
        m.TextToVideo,
        {
            "model_name": "kling-v2-6",
            "prompt": "a fox",
            "sound": "on",
            "mode": "pro",
            "aspect_ratio": "9:16",
            "duration": "10",
            "negative_prompt": "blur",
            "watermark_info": {"enabled": True},
            "callback_url": "https://h/cb",
            "external_task_id": "job-1",
        },
    ),
    (
        m.TextToVideo,
        {
            "model_name": "kling-v1-6",
            "prompt": "a",
            "cfg_scale": 0.7,
            "camera_control": {"type": "simple", "config": {"zoom": 5}},
        },
    ),
    (m.TextToVideo, {"prompt": "a", "camera_control": {"type": "forward_up"}}),
    (m.TextToVideo, {"model_name": "kling-v3", "duration": "15", "mode": "4k", "prompt": "a"}),
    (
        m.TextToVideo,
        {
            "model_name": "kling-v3",
            "multi_shot": True,
            "shot_type": "customize",
            "duration": "10",
            "multi_prompt": [
                {"index": 1, "prompt": "wide", "duration": "4"},
                {"index": 2, "prompt": "close", "duration": "6"},
            ],
        },
    ),
    (m.ImageToVideo, {"image": IMG}),
    (m.ImageToVideo, {"image": B64, "image_tail": IMG, "model_name": "kling-v1-5", "mode": "pro"}),
    (
        m.ImageToVideo,
        {
            "image": IMG,
            "model_name": "kling-v2-6",
            "mode": "pro",
            "sound": "on",
            "voice_list": [{"voice_id": "v1"}],
        },
    ),
    (
        m.ImageToVideo,
        {
            "image": IMG,
            "static_mask": IMG,
            "dynamic_masks": [{"mask": IMG, "trajectories": [{"x": 1, "y": 2}, {"x": 3, "y": 4}]}],
        },
    ),
    (
        m.ImageToVideo,
        {
            "image": IMG,
            "element_list": [{"element_id": 829836802793406551}],
            "model_name": "kling-v3",
            "duration": "3",
        },
    ),
    (
        m.MultiImageToVideo,
        {
            "image_list": [{"image": IMG}, {"image": B64}],
            "prompt": "two cats",
            "aspect_ratio": "1:1",
            "duration": 10,
        },
    ),
    (m.OmniVideo, {"prompt": "a <<<image_1>>>", "aspect_ratio": "16:9"}),
    (
        m.OmniVideo,
        {
            "prompt": "go",
            "image_list": [
                {"image_url": IMG, "type": "first_frame"},
                {"image_url": IMG, "type": "end_frame"},
            ],
        },
    ),
    (m.OmniVideo, {"prompt": "edit", "video_list": [{"video_url": VID, "refer_type": "base"}]}),
    (
        m.OmniVideo,
        {
            "model_name": "kling-v3-omni",
            "prompt": "p",
            "aspect_ratio": "1:1",
            "duration": "15",
            "sound": "on",
        },
    ),
    (
        m.MotionControl,
        {"image_url": IMG, "video_url": VID, "character_orientation": "image", "mode": "std"},
    ),
    (
        m.MultiElements,
        {
            "session_id": "s",
            "edit_mode": "addition",
            "prompt": "add",
            "image_list": [{"image": IMG}],
        },
    ),
    (m.MultiElements, {"session_id": "s", "edit_mode": "removal", "prompt": "remove"}),
    (m.MultiElementsInitSelection, {"video_url": VID}),
    (
        m.MultiElementsSelection,
        {"session_id": "s", "frame_index": 0, "points": [{"x": 0.5, "y": 0.5}]},
    ),
    (m.MultiElementsSession, {"session_id": "s"}),
    (m.VideoExtend, {"video_id": "123", "prompt": "more"}),
    (m.IdentifyFace, {"video_id": "123"}),
    (
        m.AdvancedLipSync,
        {
            "session_id": "s",
            "face_choose": [
                {
                    "face_id": "0",
                    "audio_id": "a",
                    "sound_start_time": 0,
                    "sound_end_time": 3000,
                    "sound_insert_time": 0,
                    "sound_volume": 2,
                    "original_audio_volume": 0,
                }
            ],
        },
    ),
    (m.Avatar, {"image": IMG, "audio_id": "a1", "mode": "pro"}),
    (m.Avatar, {"image": IMG, "sound_file": "https://example.com/a.mp3"}),
    (m.VideoEffects, {"effect_scene": "hug_pro", "input": {"images": [IMG, IMG]}}),
    (m.VideoEffects, {"effect_scene": "bloombloom", "input": {"image": IMG, "duration": "10"}}),
    (m.TextToAudio, {"prompt": "rain", "duration": 5.5}),
    (m.VideoToAudio, {"video_url": VID, "asmr_mode": True}),
    (
        m.TextToSpeech,
        {"text": "hello", "voice_id": "oversea_male1", "voice_language": "en", "voice_speed": 1.2},
    ),
    (m.CustomVoice, {"voice_name": "Narrator", "voice_url": "https://example.com/v.mp3"}),
    (
        m.AdvancedCustomElement,
        {
            "element_name": "Hero",
            "element_description": "our hero",
            "reference_type": "image_refer",
            "element_image_list": {"frontal_image": IMG, "refer_images": [{"image_url": IMG}]},
            "tag_list": [{"tag_id": "o_102"}],
        },
    ),
    (
        m.AdvancedCustomElement,
        {
            "element_name": "Hero",
            "element_description": "d",
            "reference_type": "video_refer",
            "element_video_list": {"refer_videos": [{"video_url": VID}]},
        },
    ),
    (m.ImageGeneration, {"prompt": "a cat", "n": 9, "aspect_ratio": "21:9", "resolution": "2k"}),
    (
        m.ImageGeneration,
        {
            "prompt": "a cat",
            "image": IMG,
            "image_reference": "subject",
            "human_fidelity": 0.4,
            "model_name": "kling-v1-5",
        },
    ),
    (
        m.OmniImage,
        {
            "prompt": "p",
            "result_type": "series",
            "series_amount": "auto",
            "aspect_ratio": "auto",
            "resolution": "4k",
        },
    ),
    (
        m.MultiImageToImage,
        {"subject_image_list": [{"subject_image": IMG}], "n": 2, "scene_image": IMG},
    ),
    (
        m.ImageExpand,
        {
            "image": IMG,
            "up_expansion_ratio": 0.5,
            "down_expansion_ratio": 0.5,
            "left_expansion_ratio": 0.25,
            "right_expansion_ratio": 0.25,
        },
    ),
    (m.AIMultiShot, {"element_frontal_image": IMG}),
    (
        m.VirtualTryOn,
        {"human_image": IMG, "cloth_image": B64, "model_name": "kolors-virtual-try-on-v1-5"},
    ),
    (m.ImageRecognize, {"image": IMG}),
]


@pytest.mark.parametrize(("model", "data"), VALID, ids=lambda v: getattr(v, "__name__", ""))
def test_documented_valid_requests_are_accepted(
    model: type[BaseModel], data: dict[str, Any]
) -> None:
    """Every documented-valid example builds and round-trips through payload()."""
    obj = model.model_validate(data)
    payload = obj.model_dump(mode="json", exclude_none=True)
    for key in data:
        assert key in payload


INVALID: list[tuple[type[BaseModel], dict[str, Any], str]] = [
    (m.TextToVideo, {}, "prompt"),
    (m.TextToVideo, {"prompt": "x" * 2501}, "prompt"),
    (m.TextToVideo, {"prompt": "a", "negative_prompt": "x" * 2501}, "negative_prompt"),
    (m.TextToVideo, {"prompt": "a", "model_name": "kling-v1"}, "discontinued"),
    (m.ImageToVideo, {"image_tail": IMG}, "first frame"),
    (m.TextToVideo, {"prompt": "a", "mode": "ultra"}, "mode"),
    (m.TextToVideo, {"prompt": "a", "aspect_ratio": "4:3"}, "aspect_ratio"),
    (m.TextToVideo, {"prompt": "a", "duration": "7"}, "duration"),
    (m.TextToVideo, {"prompt": "a", "duration": "five"}, "duration"),
    (m.TextToVideo, {"prompt": "a", "model_name": "kling-v1-6", "duration": "15"}, "duration"),
    (m.TextToVideo, {"prompt": "a", "cfg_scale": 1.5}, "cfg_scale"),
    (
        m.TextToVideo,
        {"prompt": "a", "model_name": "kling-v2-master", "cfg_scale": 0.5},
        "cfg_scale",
    ),
    (m.TextToVideo, {"prompt": "a", "sound": "on"}, "sound"),
    (
        m.TextToVideo,
        {"prompt": "a", "model_name": "kling-v2-6", "voice_list": [{"voice_id": "v"}]},
        "voice_list",
    ),
    (
        m.TextToVideo,
        {
            "prompt": "a",
            "model_name": "kling-v2-6",
            "sound": "on",
            "voice_list": [{"voice_id": "1"}, {"voice_id": "2"}, {"voice_id": "3"}],
        },
        "voice_list",
    ),
    (m.TextToVideo, {"prompt": "a", "camera_control": {"type": "simple"}}, "camera_control"),
    (
        m.TextToVideo,
        {"prompt": "a", "camera_control": {"type": "simple", "config": {"pan": 1, "tilt": 1}}},
        "camera_control",
    ),
    (
        m.TextToVideo,
        {"prompt": "a", "camera_control": {"type": "simple", "config": {"zoom": 11}}},
        "zoom",
    ),
    (
        m.TextToVideo,
        {"prompt": "a", "camera_control": {"type": "down_back", "config": {"zoom": 1}}},
        "camera_control",
    ),
    (m.TextToVideo, {"prompt": "a", "camera_control": {"type": "spin"}}, "type"),
    (m.TextToVideo, {"model_name": "kling-v3", "multi_shot": True, "duration": "10"}, "shot_type"),
    (
        m.TextToVideo,
        {"model_name": "kling-v3", "multi_shot": True, "shot_type": "customize", "duration": "10"},
        "multi_prompt",
    ),
    (
        m.TextToVideo,
        {
            "model_name": "kling-v3",
            "multi_shot": True,
            "shot_type": "customize",
            "duration": "10",
            "multi_prompt": [{"index": 1, "prompt": "a", "duration": "4"}],
        },
        "multi_prompt",
    ),
    (m.TextToVideo, {"prompt": "a", "callback_url": "ftp://x"}, "callback_url"),
    (m.TextToVideo, {"prompt": "a", "external_task_id": "x" * 257}, "external_task_id"),
    (m.TextToVideo, {"prompt": "a", "watermark_info": {"enabled": "maybe"}}, "enabled"),
    (m.ImageToVideo, {}, "image"),
    (m.ImageToVideo, {"image": "data:image/png;base64," + B64}, "image"),
    (m.ImageToVideo, {"image": "not base64 !!"}, "image"),
    (
        m.ImageToVideo,
        {"image": IMG, "image_tail": IMG, "camera_control": {"type": "forward_up"}},
        "camera_control",
    ),
    (m.ImageToVideo, {"image": IMG, "image_tail": IMG, "static_mask": IMG}, "static_mask"),
    (
        m.ImageToVideo,
        {"image": IMG, "dynamic_masks": [{"mask": IMG, "trajectories": [{"x": 1, "y": 1}]}]},
        "trajectories",
    ),
    (m.ImageToVideo, {"image": IMG, "element_list": [{"element_id": 1}] * 4}, "element_list"),
    (
        m.ImageToVideo,
        {
            "image": IMG,
            "element_list": [{"element_id": 1}],
            "sound": "on",
            "model_name": "kling-v3",
            "voice_list": [{"voice_id": "v"}],
        },
        "element_list",
    ),
    (m.ImageToVideo, {"image": IMG, "mode": "4k"}, "mode"),
    (m.MultiImageToVideo, {"prompt": "p", "image_list": []}, "image_list"),
    (m.MultiImageToVideo, {"prompt": "p", "image_list": [{"image": IMG}] * 5}, "image_list"),
    (m.MultiImageToVideo, {"image_list": [{"image": IMG}]}, "prompt"),
    (
        m.MultiImageToVideo,
        {"prompt": "p", "image_list": [{"image": IMG}], "mode": "4k"},
        "mode",
    ),
    (m.OmniVideo, {"prompt": "p"}, "aspect_ratio"),
    (
        m.OmniVideo,
        {"prompt": "p", "image_list": [{"image_url": IMG, "type": "end_frame"}]},
        "first_frame",
    ),
    (
        m.OmniVideo,
        {"prompt": "p", "aspect_ratio": "1:1", "image_list": [{"image_url": IMG}] * 8},
        "image_list",
    ),
    (
        m.OmniVideo,
        {
            "prompt": "p",
            "image_list": [{"image_url": IMG}] * 5,
            "video_list": [{"video_url": VID, "refer_type": "feature"}],
            "aspect_ratio": "1:1",
        },
        "image_list",
    ),
    (
        m.OmniVideo,
        {
            "prompt": "p",
            "video_list": [{"video_url": VID, "refer_type": "base"}],
            "image_list": [{"image_url": IMG, "type": "first_frame"}],
        },
        "base",
    ),
    (
        m.OmniVideo,
        {
            "prompt": "p",
            "aspect_ratio": "1:1",
            "sound": "on",
            "model_name": "kling-v3-omni",
            "video_list": [{"video_url": VID, "refer_type": "feature"}],
        },
        "sound",
    ),
    (m.OmniVideo, {"prompt": "p", "aspect_ratio": "1:1", "duration": "7"}, "duration"),
    (
        m.OmniVideo,
        {"prompt": "p", "aspect_ratio": "1:1", "multi_shot": True, "shot_type": "intelligence"},
        "multi_shot",
    ),
    (
        m.OmniVideo,
        {"prompt": "p", "aspect_ratio": "1:1", "video_list": [{"video_url": B64}]},
        "video_url",
    ),
    (m.MotionControl, {"image_url": IMG, "video_url": VID, "mode": "std"}, "character_orientation"),
    (
        m.MotionControl,
        {"image_url": IMG, "video_url": VID, "character_orientation": "image"},
        "mode",
    ),
    (
        m.MotionControl,
        {
            "image_url": IMG,
            "video_url": VID,
            "character_orientation": "image",
            "mode": "std",
            "model_name": "kling-v3",
            "element_list": [{"element_id": 1}],
        },
        "character_orientation",
    ),
    (m.MultiElements, {"session_id": "s", "edit_mode": "swap", "prompt": "p"}, "image_list"),
    (
        m.MultiElements,
        {"session_id": "s", "edit_mode": "removal", "prompt": "p", "image_list": [{"image": IMG}]},
        "image_list",
    ),
    (m.MultiElements, {"session_id": "s", "edit_mode": "merge", "prompt": "p"}, "edit_mode"),
    (m.MultiElementsInitSelection, {}, "video_id"),
    (m.MultiElementsInitSelection, {"video_id": "1", "video_url": VID}, "video_id"),
    (
        m.MultiElementsSelection,
        {"session_id": "s", "frame_index": 0, "points": [{"x": 1.5, "y": 0}]},
        "x",
    ),
    (
        m.MultiElementsSelection,
        {"session_id": "s", "frame_index": 0, "points": [{"x": 0, "y": 0}] * 11},
        "points",
    ),
    (m.VideoExtend, {}, "video_id"),
    (m.IdentifyFace, {"video_url": "file:///x.mp4"}, "video_url"),
    (m.AdvancedLipSync, {"session_id": "s", "face_choose": []}, "face_choose"),
    (
        m.AdvancedLipSync,
        {
            "session_id": "s",
            "face_choose": [
                {
                    "face_id": "0",
                    "audio_id": "a",
                    "sound_start_time": 0,
                    "sound_end_time": 1000,
                    "sound_insert_time": 0,
                }
            ],
        },
        "sound_end_time",
    ),
    (
        m.AdvancedLipSync,
        {
            "session_id": "s",
            "face_choose": [
                {
                    "face_id": "0",
                    "sound_start_time": 0,
                    "sound_end_time": 3000,
                    "sound_insert_time": 0,
                }
            ],
        },
        "audio_id",
    ),
    (
        m.AdvancedLipSync,
        {
            "session_id": "s",
            "face_choose": [
                {
                    "face_id": "0",
                    "audio_id": "a",
                    "sound_start_time": 0,
                    "sound_end_time": 3000,
                    "sound_insert_time": 0,
                    "sound_volume": 3,
                }
            ],
        },
        "sound_volume",
    ),
    (m.Avatar, {"image": IMG}, "audio_id"),
    (m.Avatar, {"image": IMG, "audio_id": "a", "sound_file": IMG}, "sound_file"),
    (m.VideoEffects, {"effect_scene": "hug_pro", "input": {"images": [IMG]}}, "images"),
    (m.VideoEffects, {"effect_scene": "x", "input": {}}, "image"),
    (
        m.VideoEffects,
        {"effect_scene": "kiss_pro", "input": {"images": [IMG, IMG], "duration": "10"}},
        "duration",
    ),
    (m.VideoEffects, {"effect_scene": "bad scene!", "input": {"image": IMG}}, "effect_scene"),
    (m.TextToAudio, {"prompt": "x" * 201, "duration": 5}, "prompt"),
    (m.TextToAudio, {"prompt": "rain", "duration": 2.9}, "duration"),
    (m.TextToAudio, {"prompt": "rain", "duration": 5.55}, "duration"),
    (m.VideoToAudio, {}, "video_id"),
    (m.VideoToAudio, {"video_id": "1", "bgm_prompt": "x" * 201}, "bgm_prompt"),
    (m.TextToSpeech, {"text": "", "voice_id": "v", "voice_language": "en"}, "text"),
    (m.TextToSpeech, {"text": "x" * 1001, "voice_id": "v", "voice_language": "en"}, "text"),
    (m.TextToSpeech, {"text": "hi", "voice_id": "v", "voice_language": "fr"}, "voice_language"),
    (
        m.TextToSpeech,
        {"text": "hi", "voice_id": "v", "voice_language": "en", "voice_speed": 2.5},
        "voice_speed",
    ),
    (m.CustomVoice, {"voice_name": "x" * 21, "video_id": "1"}, "voice_name"),
    (m.CustomVoice, {"voice_name": "n"}, "voice_url"),
    (
        m.AdvancedCustomElement,
        {"element_name": "n", "element_description": "d", "reference_type": "image_refer"},
        "element_image_list",
    ),
    (
        m.AdvancedCustomElement,
        {
            "element_name": "n",
            "element_description": "d",
            "reference_type": "image_refer",
            "element_image_list": {"frontal_image": IMG, "refer_images": []},
        },
        "refer_images",
    ),
    (
        m.AdvancedCustomElement,
        {
            "element_name": "n",
            "element_description": "x" * 101,
            "reference_type": "video_refer",
            "element_video_list": {"refer_videos": [{"video_url": VID}]},
        },
        "element_description",
    ),
    (
        m.AdvancedCustomElement,
        {
            "element_name": "n",
            "element_description": "d",
            "reference_type": "image_refer",
            "tag_list": [{"tag_id": "o_999"}],
            "element_image_list": {"frontal_image": IMG, "refer_images": [{"image_url": IMG}]},
        },
        "tag_id",
    ),
    (m.ImageGeneration, {"prompt": "p", "n": 10}, "n"),
    (m.ImageGeneration, {"prompt": "p", "n": 0}, "n"),
    (m.ImageGeneration, {"prompt": "p", "aspect_ratio": "5:4"}, "aspect_ratio"),
    (m.ImageGeneration, {"prompt": "p", "image_reference": "face"}, "image"),
    (m.ImageGeneration, {"prompt": "p", "image": IMG, "negative_prompt": "n"}, "negative_prompt"),
    (
        m.ImageGeneration,
        {"prompt": "p", "image": IMG, "image_reference": "face", "human_fidelity": 0.5},
        "human_fidelity",
    ),
    (m.ImageGeneration, {"prompt": "p", "resolution": "8k"}, "resolution"),
    (m.ImageGeneration, {"n": 1}, "prompt"),
    (m.OmniImage, {"prompt": "p", "series_amount": 1}, "series_amount"),
    (
        m.OmniImage,
        {
            "prompt": "p",
            "image_list": [{"image": IMG}] * 6,
            "element_list": [{"element_id": 1}] * 5,
        },
        "element_list",
    ),
    (
        m.MultiImageToImage,
        {"subject_image_list": [{"subject_image": IMG}] * 5},
        "subject_image_list",
    ),
    (
        m.ImageExpand,
        {
            "image": IMG,
            "up_expansion_ratio": 2.5,
            "down_expansion_ratio": 0,
            "left_expansion_ratio": 0,
            "right_expansion_ratio": 0,
        },
        "up_expansion_ratio",
    ),
    (
        m.ImageExpand,
        {
            "image": IMG,
            "up_expansion_ratio": 1,
            "down_expansion_ratio": 1,
            "left_expansion_ratio": 1,
            "right_expansion_ratio": 1,
        },
        "3x",
    ),
    (m.ImageExpand, {"image": IMG, "up_expansion_ratio": 1}, "down_expansion_ratio"),
    (m.AIMultiShot, {}, "element_frontal_image"),
    (m.VirtualTryOn, {"human_image": IMG}, "cloth_image"),
    (m.VirtualTryOn, {"human_imag": IMG, "cloth_image": IMG}, "did you mean 'human_image'"),
    (m.ImageRecognize, {"image": ""}, "image"),
]


@pytest.mark.parametrize(
    ("model", "data", "field"), INVALID, ids=lambda v: getattr(v, "__name__", None) or ""
)
def test_invalid_requests_are_rejected_naming_the_field(
    model: type[BaseModel], data: dict[str, Any], field: str
) -> None:
    """Each documented constraint is enforced and the error names the field."""
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    assert field in str(info.value)


def test_every_task_family_has_a_model() -> None:
    """The family table and the model registry cover the same families."""
    async_families = {name for name, fam in FAMILIES.items() if fam.queryable}
    assert set(REQUEST_MODELS) == async_families
    assert FAMILIES["tts"].queryable is False


def test_unknown_parameters_go_through_extra_body() -> None:
    """A parameter the client does not know yet is sent unchanged through extra_body."""
    req = m.TextToVideo(prompt="a", extra_body={"brand_new_knob": {"level": 3}})
    assert req.payload() == {"prompt": "a", "brand_new_knob": {"level": 3}}


def test_payload_omits_unset_fields_and_keeps_kling_types() -> None:
    """Durations are strings, None fields are not sent, element ids stay exact."""
    req = m.ImageToVideo(
        image=IMG,
        model_name="kling-v3",
        duration=10,
        element_list=[{"element_id": 829836802793406551}],
    )
    assert req.payload() == {
        "model_name": "kling-v3",
        "image": IMG,
        "duration": "10",
        "element_list": [{"element_id": 829836802793406551}],
    }


def test_bytes_and_paths_become_raw_base64(tmp_path: Path) -> None:
    """Helpers and fields turn bytes or a local file into Base64 without a data: prefix."""
    raw = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
    path = tmp_path / "cat.png"
    path.write_bytes(raw)
    expected = base64.b64encode(raw).decode()
    assert m.encode_bytes(raw) == expected == m.encode_file(path)
    assert m.ImageToVideo(image=path).image == expected
    assert m.VirtualTryOn(human_image=raw, cloth_image=path).human_image == expected


def test_oversized_base64_is_rejected_cheaply() -> None:
    """An image over 10 MB is refused naming the field."""
    big = "A" * (14 * 1024 * 1024)
    with pytest.raises(ValidationError, match="image"):
        m.ImageToVideo(image=big)


@pytest.mark.parametrize(
    ("request_obj", "cost"),
    [
        (m.TextToVideo(prompt="a"), 1),
        (m.ImageGeneration(prompt="a"), 1),
        (m.ImageGeneration(prompt="a", n=7), 7),
        (m.MultiImageToImage(subject_image_list=[{"subject_image": IMG}], n=3), 3),
        (
            m.ImageExpand(
                image=IMG,
                up_expansion_ratio=0,
                down_expansion_ratio=0,
                left_expansion_ratio=0.5,
                right_expansion_ratio=0,
                n=4,
            ),
            4,
        ),
        (m.OmniImage(prompt="p", n=2), 2),
        (m.OmniImage(prompt="p", result_type="series", series_amount=5), 5),
        (m.OmniImage(prompt="p", result_type="series", series_amount="auto"), 9),
        (m.VirtualTryOn(human_image=IMG, cloth_image=IMG), 1),
    ],
)
def test_slot_costs(request_obj: m.KlingRequest, cost: int) -> None:
    """Video/try-on hold 1 slot, image tasks n (series: amount, auto: 9)."""
    assert FAMILIES[request_obj.family].slot_cost(request_obj) == cost


def test_family_table_packs() -> None:
    """Each family counts against the documented pack."""
    packs = {name: (fam.pack.value if fam.pack else None) for name, fam in FAMILIES.items()}
    assert packs["text2video"] == "video" and packs["image_generation"] == "image"
    assert packs["virtual_try_on"] == "try_on" and packs["tts"] is None
    v1 = [f for f in FAMILIES.values() if f.design is Design.V1]
    assert all(f.path.startswith("/v1/") for f in v1)
    new = [f for f in FAMILIES.values() if f.design is Design.D2026]
    assert {f.path for f in new} == {
        "/text-to-video/{model}",
        "/image-to-video/{model}",
        "/omni-video/{model}",
        "/motion-control/{model}",
    }
    assert all(f.pack is Pack.VIDEO and f.slot_cost({}) == 1 and f.api_key_only for f in new)
    assert all(f.min_seconds <= f.typical_seconds for f in FAMILIES.values())


SEED_REQUESTS = json.loads(
    (Path(__file__).parent / "data" / "seed_request_examples.json").read_text()
)
_BY_PATH: dict[str, type[BaseModel]] = {
    fam.path: REQUEST_MODELS[name] for name, fam in FAMILIES.items() if name in REQUEST_MODELS
}
_BY_PATH.update(
    {
        "/v1/audio/tts": m.TextToSpeech,
        "/v1/videos/identify-face": m.IdentifyFace,
        "/v1/videos/image-recognize": m.ImageRecognize,
        "/v1/videos/multi-elements/init-selection": m.MultiElementsInitSelection,
    }
)


@pytest.mark.parametrize("example", SEED_REQUESTS, ids=[e["path"] for e in SEED_REQUESTS])
def test_official_request_examples_validate(example: dict[str, Any]) -> None:
    """Every request body in the official docs' curl examples is accepted."""
    obj = _BY_PATH[example["path"]].model_validate(example["body"])
    sent = obj.model_dump(mode="json", exclude_none=True)
    assert "callback_url" not in sent or sent["callback_url"]


def test_blank_strings_mean_not_given() -> None:
    """ "" for an optional field is dropped; for a required field it reads as missing."""
    req = m.TextToVideo(prompt="a", callback_url="", external_task_id="", negative_prompt="")
    assert req.payload() == {"prompt": "a"}
    with pytest.raises(ValidationError, match="prompt"):
        m.ImageGeneration(prompt="")
