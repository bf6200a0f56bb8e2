"""Preset voices and elements, and deletes (which live Kling answers without data)."""

from __future__ import annotations

import pytest
from aioresponses import aioresponses

from kling_async import InvalidRequestError, KlingClient, PollPolicy
from kling_async.simulator import Simulator
from tests.conftest import ACCESS_KEY, SECRET_KEY

FAST = PollPolicy.scaled(0.001)
IMG = "https://example.com/face.png"


async def test_presets_custom_voices_and_elements_round_trip() -> None:
    """Presets are listed; a created voice and element can be deleted once, and the
    second delete is Kling's 1201 refusal."""
    async with Simulator(time_scale=0.001) as sim, sim.client(poll=FAST) as client:
        voices = await client.preset_voices()
        elements = await client.preset_elements(page_size=10)
        none = await client.preset_voices(page=2)
        voice_task = await client.custom_voice(voice_name="Narrator", voice_url=IMG)
        element_task = await client.advanced_custom_element(
            element_name="Hero",
            element_description="our hero",
            reference_type="image_refer",
            element_image_list={"frontal_image": IMG, "refer_images": [{"image_url": IMG}]},
        )
        voice_id = voice_task.task_result.voices[0].voice_id
        element_id = element_task.task_result.elements[0].element_id
        assert voice_id and element_id
        deleted_voice = await client.delete_voice(voice_id)
        deleted_element = await client.delete_element(element_id)
        with pytest.raises(InvalidRequestError, match="already be deleted"):
            await client.delete_element(element_id)
        with pytest.raises(InvalidRequestError, match="not found"):
            await client.delete_voice("v-unknown")
        with pytest.raises(ValueError, match="element_id"):
            await client.delete_element("  ")
    assert [v.owned_by for v in voices] == ["kling"] * 3 and none == []
    assert elements[0].element_name == "Astronaut"
    assert deleted_voice.model_extra == {"task_id": voice_task.task_id, "task_status": "succeed"}
    assert deleted_element.model_dump(exclude_none=True) == {}  # code 0, no data


async def test_deletes_and_presets_tolerate_missing_data() -> None:
    """A success envelope with no data (or null) is a success / an empty page."""
    base = "http://kling.test"
    ok_no_data = {"code": 0, "message": "SUCCEED", "request_id": "r"}
    async with KlingClient(access_key=ACCESS_KEY, secret_key=SECRET_KEY, base_url=base) as c:
        with aioresponses() as mock:
            mock.post(f"{base}/v1/general/delete-advanced-elements", payload=ok_no_data)
            mock.get(
                f"{base}/v1/general/presets-voices?pageNum=1&pageSize=30",
                payload={**ok_no_data, "data": None},
            )
            result = await c.delete_element(321922438904313)
            voices = await c.preset_voices()
            body = next(iter(mock.requests.values()))[0].kwargs["data"]
    assert result.model_dump(exclude_none=True) == {} and voices == []
    assert body == '{"element_id":"321922438904313"}'
