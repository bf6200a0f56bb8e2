"""The "Task families" page of the docs, generated from the family table and the models.

Used two ways:

- as an mkdocs hook (``hooks:`` in ``mkdocs.yml``): ``docs/families.md`` holds the
  marker ``<!-- families -->``, replaced at build time by one section per family: its
  request model, coroutine, endpoint, resource pack and slots, required and optional
  fields (read from the model, so the page cannot drift), and a runnable example;
- as a script: ``python scripts/docs_families.py`` prints the generated markdown.

``tests/test_docs_snippets.py`` runs every example of the page against the simulator,
and fails when a request model has no example here.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kling_async import FAMILIES, endpoints  # noqa: E402
from kling_async.endpoints import REQUEST_MODELS  # noqa: E402
from kling_async.models import KlingRequest  # noqa: E402

MARKER = "<!-- families -->"

IMG = "https://example.com/fox.png"
VID = "https://example.com/fox.mp4"

# method name -> the body of ``async with KlingClient() as client:`` (4-space indent
# added when rendered). Each one runs as written against the simulator.
EXAMPLES: dict[str, str] = {
    "text_to_video": """\
task = await client.text_to_video(
    prompt="a red fox trotting through fresh snow",
    model_name="kling-v3",
    duration=10,
    mode="pro",
)
print(task.task_status, task.result_urls())
""",
    "image_to_video": f"""\
task = await client.image_to_video(
    image="{IMG}",  # or Path("fox.png"): local files are sent as Base64
    prompt="the fox turns its head towards the camera",
    duration=5,
)
print(task.result_urls())
""",
    "multi_image_to_video": f"""\
task = await client.multi_image_to_video(
    image_list=[{{"image": "{IMG}"}}, {{"image": "https://example.com/forest.png"}}],
    prompt="the fox walks into the forest",
)
print(task.result_urls())
""",
    "omni_video": f"""\
task = await client.omni_video(
    prompt="<<<image_1>>> runs across a frozen lake at dawn",
    image_list=[{{"image_url": "{IMG}"}}],
    model_name="kling-video-o1",
    aspect_ratio="16:9",  # needed unless a first frame or base video sets it
    duration=5,
)
print(task.result_urls())
""",
    "motion_control": f"""\
task = await client.motion_control(
    image_url="{IMG}",
    video_url="https://example.com/dance.mp4",
    character_orientation="image",
    mode="std",
)
print(task.result_urls())
""",
    "multi_elements": f"""\
from kling_async import MultiElementsInitSelection

session = await client.multi_elements_init_selection(
    MultiElementsInitSelection(video_url="{VID}")
)
task = await client.multi_elements(
    session_id=session.session_id,
    edit_mode="removal",
    prompt="remove the <<<object_1>>> from <<<video_1>>>",
)
print(task.result_urls())
""",
    "video_extend": """\
video = await client.text_to_video(prompt="a red fox in snow", model_name="kling-v1-6")
videos = video.task_result.videos if video.task_result else []
extended = await client.video_extend(video_id=videos[0].id, prompt="it starts to snow")
print(extended.result_urls())
""",
    "advanced_lip_sync": f"""\
from kling_async import IdentifyFace

faces = await client.identify_face(IdentifyFace(video_url="{VID}"))
task = await client.advanced_lip_sync(
    session_id=faces.session_id,
    face_choose=[
        {{
            "face_id": faces.face_data[0].face_id,
            "sound_file": "https://example.com/line.mp3",
            "sound_start_time": 0,
            "sound_end_time": 3000,
            "sound_insert_time": 500,
        }}
    ],
)
print(task.result_urls())
""",
    "lip_sync": f"""\
task = await client.lip_sync(
    input={{
        "video_url": "{VID}",
        "mode": "text2video",
        "text": "Hello from the fox!",
        "voice_id": "genshin_vindi2",
        "voice_language": "en",
    }}
)
print(task.result_urls())
""",
    "avatar": f"""\
task = await client.avatar(
    image="{IMG}",
    sound_file="https://example.com/greeting.mp3",
    prompt="a friendly greeting",
)
print(task.result_urls())
""",
    "video_effects": f"""\
task = await client.video_effects(
    effect_scene="bloombloom",
    input={{"image": "{IMG}", "duration": "5", "model_name": "kling-v1-6"}},
)
print(task.result_urls())
""",
    "text_to_audio": """\
task = await client.text_to_audio(prompt="rain on a tin roof", duration=5)
print(task.result_urls())  # MP3 and WAV
""",
    "video_to_audio": f"""\
task = await client.video_to_audio(
    video_url="{VID}",
    sound_effect_prompt="footsteps in snow",
    bgm_prompt="calm piano",
)
print(task.result_urls())
""",
    "custom_voice": """\
task = await client.custom_voice(
    voice_name="narrator", voice_url="https://example.com/my-voice.mp3"
)
voices = task.task_result.voices if task.task_result else []
print(voices[0].voice_id)  # use it as voice_id in lip-sync and TTS
""",
    "advanced_custom_element": f"""\
task = await client.advanced_custom_element(
    element_name="Rusty",
    element_description="a red fox with a white-tipped tail",
    reference_type="image_refer",
    element_image_list={{
        "frontal_image": "{IMG}",
        "refer_images": [{{"image_url": "https://example.com/fox-side.png"}}],
    }},
)
elements = task.task_result.elements if task.task_result else []
print(elements[0].element_id)  # reference it in element_list of video requests
""",
    "image_generation": """\
task = await client.image_generation(
    prompt="a retro travel poster of a fox", n=3, aspect_ratio="3:4"
)
print(task.result_urls())  # three images; the task held 3 image slots
""",
    "omni_image": f"""\
task = await client.omni_image(
    prompt="<<<image_1>>> as a watercolour painting",
    image_list=[{{"image": "{IMG}"}}],
    n=2,
)
print(task.result_urls())
""",
    "multi_image_to_image": f"""\
task = await client.multi_image_to_image(
    subject_image_list=[{{"subject_image": "{IMG}"}}],
    scene_image="https://example.com/beach.png",
    prompt="the fox on the beach",
)
print(task.result_urls())
""",
    "image_expand": f"""\
task = await client.image_expand(
    image="{IMG}",
    up_expansion_ratio=0.2,
    down_expansion_ratio=0.2,
    left_expansion_ratio=0.5,
    right_expansion_ratio=0.5,
)
print(task.result_urls())
""",
    "ai_multi_shot": f"""\
task = await client.ai_multi_shot(element_frontal_image="{IMG}")
print(task.result_urls())  # more views of the subject, for an element
""",
    "virtual_try_on": """\
task = await client.virtual_try_on(
    human_image="https://example.com/person.jpg",
    cloth_image="https://example.com/shirt.png",
)
print(task.result_urls())
""",
    "text_to_video_2026": """\
task = await client.text_to_video_2026(
    model="kling-3.0-turbo",  # in the path: POST /text-to-video/kling-3.0-turbo
    prompt="a red fox trotting through fresh snow",
    settings={"resolution": "1080p", "duration": 5, "aspect_ratio": "16:9"},
)
print(task.task_status, task.result_urls(), task.final_unit_deduction)
""",
    "image_to_video_2026": f"""\
from kling_async import FirstFrame, LastFrame

task = await client.image_to_video_2026(
    model="kling-3.0",
    prompt="the fox turns its head towards the camera",
    contents=[FirstFrame(url="{IMG}"), LastFrame(url="https://example.com/fox-end.png")],
    settings={{"duration": 5, "multi_shot": False}},  # 3.0 is multi-shot unless told
)
print(task.result_urls())
""",
    "omni_video_2026": f"""\
from kling_async import ElementInput, ReferImage

task = await client.omni_video_2026(
    model="kling-3.0-omni",
    prompt="@fox runs across a frozen lake with @rusty at dawn",
    contents=[ReferImage(url="{IMG}", id="fox"), ElementInput(element_id=829836802793406551,
                                                            id="rusty")],
    settings={{"aspect_ratio": "16:9", "duration": 5, "multi_shot": False}},
)
print(task.result_urls())
""",
    "motion_control_2026": f"""\
from kling_async import MotionImage, MotionVideo

task = await client.motion_control_2026(
    model="kling-2.6",
    contents=[MotionImage(url="{IMG}"), MotionVideo(url="https://example.com/dance.mp4")],
    settings={{"character_orientation": "image", "resolution": "1080p"}},
)
print(task.result_urls())
""",
}

PROLOGUE = """\
import asyncio
from kling_async import KlingClient


async def main() -> None:
    async with KlingClient() as client:
"""
EPILOGUE = """

asyncio.run(main())
"""


def methods() -> list[tuple[str, type[KlingRequest]]]:
    """(coroutine name, request model) for every family, in the generator's order."""
    spec_path = ROOT / "scripts" / "gen_family_methods.py"
    namespace: dict[str, Any] = {"__name__": "gen_family_methods", "__file__": str(spec_path)}
    exec(compile(spec_path.read_text(), str(spec_path), "exec"), namespace)
    by_name = {cls.__name__: cls for cls in REQUEST_MODELS.values()}
    return [(method, by_name[model]) for method, model in namespace["methods"](endpoints)]


def example(method: str) -> str:
    """The runnable script of ``method``'s example."""
    body = textwrap.indent(EXAMPLES[method], " " * 8)
    return PROLOGUE + body.rstrip() + "\n" + EPILOGUE


_SKIP = {"external_task_id", "callback_url", "extra_body"}


def _fields(model: type[KlingRequest]) -> tuple[list[str], list[str]]:
    required, optional = [], []
    for name, info in model.model_fields.items():
        if name in _SKIP:
            continue
        (required if info.is_required() else optional).append(f"`{name}`")
    return required, optional


def _slots(pack: str | None, family: str) -> str:
    if pack is None:
        return "none"
    if pack == "image" and family != "ai_multi_shot":
        return "`n` image slots (default 1; a series holds up to 9)"
    return f"1 {pack.replace('_', '-')} slot"


def render() -> str:
    """The markdown that replaces :data:`MARKER`."""
    parts = []
    for method, model in methods():
        fam = FAMILIES[model.family]
        doc = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        required, optional = _fields(model)
        pack = fam.pack.value if fam.pack is not None else None
        credentials = (
            "| credentials | API key only (the [2026 design](design-2026.md)) |\n"
            if fam.api_key_only
            else ""
        )
        parts.append(
            f"## {model.__name__}\n\n"
            f"{doc}\n\n"
            f"| | |\n|---|---|\n"
            f"| coroutine | `client.{method}(...)` or `client.submit({model.__name__}(...))` |\n"
            f"| endpoint | `POST {fam.path}` |\n"
            f"{credentials}"
            f"| resource pack | {pack or 'none'}, holding {_slots(pack, fam.name)} |\n"
            f"| required | {', '.join(required) or 'none'} |\n"
            f"| optional | {', '.join(optional) or 'none'} |\n\n"
            f"```python\n{example(method)}```\n"
        )
    return "\n".join(parts)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """mkdocs hook: fill in the family sections where the marker is."""
    if MARKER in markdown:
        return markdown.replace(MARKER, render())
    return markdown


if __name__ == "__main__":
    print(render())
