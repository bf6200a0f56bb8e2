"""The simulator's result files are real media: checked with the standard library only
(structure, checksums, sizes, the H.264 parameter sets), and decoded by ffmpeg when the
machine has it."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import wave
import zlib
from pathlib import Path

import aiohttp
import pytest

from kling_async import ImageGeneration, PollPolicy, TextToAudio
from kling_async.simulator import Simulator
from kling_async.simulator._files import result_file

# -- readers written for the test (independent of the generator) ----------------------


def png_info(data: bytes) -> tuple[int, int]:
    """Width and height of a valid 8-bit RGB PNG (every chunk's CRC checked)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, idat = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append(kind)
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND" and pos == len(data)
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (depth, colour) == (8, 2)
    raw = zlib.decompress(idat)
    assert len(raw) == height * (1 + 3 * width)
    assert all(raw[y * (1 + 3 * width)] == 0 for y in range(height))  # filter bytes
    return width, height


def boxes(data: bytes, start: int = 0, end: int | None = None) -> dict[bytes, tuple[int, int]]:
    """Top-level ISO BMFF boxes in ``data[start:end]``: type -> (payload start, end)."""
    end = len(data) if end is None else end
    found, pos = {}, start
    while pos < end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        assert size >= 8 and pos + size <= end, (kind, size)
        found[kind] = (pos + 8, pos + size)
        pos += size
    assert pos == end
    return found


def path(data: bytes, *names: bytes, skip: dict[bytes, int] | None = None) -> tuple[int, int]:
    """Payload bounds of the box at ``names`` (full-box headers and sample-entry
    fields skipped as ``skip`` says)."""
    skip = skip or {}
    start, end = 0, len(data)
    for name in names:
        start, end = boxes(data, start, end)[name]
        start += skip.get(name, 0)
    return start, end


class ExpGolomb:
    """Reads H.264 RBSP bits."""

    def __init__(self, data: bytes) -> None:
        self.bits = "".join(f"{b:08b}" for b in data)
        self.pos = 0

    def u(self, n: int) -> int:
        value = int(self.bits[self.pos : self.pos + n], 2)
        self.pos += n
        return value

    def ue(self, zeros: int = 0) -> int:
        while self.bits[self.pos] == "0":
            zeros += 1
            self.pos += 1
        return self.u(zeros + 1) - 1


def unescape(nal: bytes) -> bytes:
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def mp4_info(data: bytes) -> dict[str, int]:
    """Checks the structure of an H.264 MP4; returns its figures."""
    top = boxes(data)
    assert list(top)[:1] == [b"ftyp"] and {b"moov", b"mdat"} <= set(top)
    assert data[top[b"ftyp"][0] : top[b"ftyp"][0] + 4] == b"isom"
    stbl = (b"moov", b"trak", b"mdia", b"minf", b"stbl")
    mdhd_start, _ = path(data, b"moov", b"trak", b"mdia", b"mdhd")
    timescale, duration = struct.unpack(">II", data[mdhd_start + 12 : mdhd_start + 20])
    hdlr_start, _ = path(data, b"moov", b"trak", b"mdia", b"hdlr")
    assert data[hdlr_start + 8 : hdlr_start + 12] == b"vide"
    avcc_start, avcc_end = path(
        data, *stbl, b"stsd", b"avc1", b"avcC", skip={b"stsd": 8, b"avc1": 78}
    )
    avcc = data[avcc_start:avcc_end]
    assert avcc[0] == 1 and avcc[4] & 3 == 3 and avcc[5] & 31 == 1  # 4-byte lengths, 1 SPS
    sps_len = struct.unpack(">H", avcc[6:8])[0]
    sps = unescape(avcc[8 : 8 + sps_len])
    assert sps[0] & 31 == 7
    bits = ExpGolomb(sps[1:])
    profile, _, _ = bits.u(8), bits.u(8), bits.u(8)
    bits.ue()  # sps id
    bits.ue()  # log2_max_frame_num_minus4
    assert bits.ue() == 2  # poc type
    bits.ue()  # max refs
    bits.u(1)
    width = (bits.ue() + 1) * 16
    height = (bits.ue() + 1) * 16
    pps_at = 8 + sps_len
    assert avcc[pps_at] == 1 and unescape(avcc[pps_at + 3 :])[0] & 31 == 8
    stsz_start, _ = path(data, *stbl, b"stsz")
    _, _, count = struct.unpack(">III", data[stsz_start : stsz_start + 12])
    sizes = struct.unpack(f">{count}I", data[stsz_start + 12 : stsz_start + 12 + 4 * count])
    stco_start, _ = path(data, *stbl, b"stco")
    (offset,) = struct.unpack(">I", data[stco_start + 8 : stco_start + 12])
    mdat_start, mdat_end = top[b"mdat"]
    assert offset == mdat_start and sum(sizes) == mdat_end - mdat_start
    pos, kinds = offset, []
    for size in sizes:  # each sample: length-prefixed NAL units filling it exactly
        (nal_len,) = struct.unpack(">I", data[pos : pos + 4])
        assert nal_len + 4 == size
        kinds.append(data[pos + 4] & 31)
        pos += size
    assert kinds[0] == 5 and set(kinds[1:]) <= {1}  # an IDR frame, then P frames
    return {
        "profile": profile,
        "width": width,
        "height": height,
        "frames": count,
        "ms": duration * 1000 // timescale,
    }


def mp3_frames(data: bytes) -> int:
    """Number of MPEG-1 Layer III frames; each header must be valid and frames contiguous."""
    pos = frames = 0
    bitrates = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
    while pos < len(data):
        header = int.from_bytes(data[pos : pos + 4], "big")
        assert header >> 21 == 0x7FF, pos  # frame sync
        assert (header >> 19) & 3 == 3 and (header >> 17) & 3 == 1  # MPEG-1, layer III
        rate = [44100, 48000, 32000][(header >> 10) & 3]
        kbps = bitrates[(header >> 12) & 15]
        pos += 144 * kbps * 1000 // rate + ((header >> 9) & 1)
        frames += 1
    assert pos == len(data)
    return frames


# -- the tests ---------------------------------------------------------------------------


def test_png_is_a_valid_image() -> None:
    content_type, data = result_file("861", "0.png")
    assert content_type == "image/png"
    assert png_info(data) == (128, 128)
    assert result_file("862", "0.png")[1] != data  # tasks differ
    assert result_file("861", "0.png")[1] == data  # the same file every time


@pytest.mark.parametrize("seconds", [5.0, 10.0, 0.5])
def test_mp4_is_h264_of_the_asked_length(seconds: float) -> None:
    content_type, data = result_file("861", "0.mp4", seconds)
    assert content_type == "video/mp4"
    info = mp4_info(data)
    assert info["profile"] == 66 and (info["width"], info["height"]) == (128, 96)
    assert info["frames"] == max(1, round(seconds * 2))
    assert info["ms"] == info["frames"] * 500
    assert len(data) < 64 * 1024


def test_wav_and_mp3_are_valid_audio() -> None:
    content_type, data = result_file("861", "0.wav", 5.0)
    assert content_type == "audio/wav"
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        assert w.getnframes() == 40000
    content_type, data = result_file("861", "0.mp3", 5.0)
    assert content_type == "audio/mpeg"
    assert mp3_frames(data) == round(5.0 / (1152 / 32000))


@pytest.mark.parametrize("name", ["0.mp4", "0.mp3", "0.wav", "0.png"])
def test_ffmpeg_decodes_every_kind_without_error(name: str, tmp_path: Path) -> None:
    """ffmpeg decodes the files with no error at all (skipped without ffmpeg, except in
    CI, where .ci/run installs it and sets KLING_REQUIRE_FFMPEG)."""
    if shutil.which("ffmpeg") is None:
        if os.environ.get("KLING_REQUIRE_FFMPEG"):
            pytest.fail("ffmpeg is required (KLING_REQUIRE_FFMPEG is set) but not installed")
        pytest.skip("ffmpeg is not installed")
    target = tmp_path / name
    target.write_bytes(result_file("861", name, 3.0)[1])
    done = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(target), "-f", "null", "-"],
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0 and not done.stderr, done.stderr


async def test_simulator_serves_media_matching_each_result() -> None:
    """Over HTTP: a 10 s video is an MP4 of 10 s, images are PNGs, TTS audio is audio."""
    async with (
        Simulator(time_scale=0.001) as sim,
        sim.client(poll=PollPolicy.scaled(0.001)) as client,
        aiohttp.ClientSession() as http,
    ):
        video = await client.text_to_video(prompt="fox", model_name="kling-v3", duration=10)
        images = await client.submit(ImageGeneration(prompt="cat", n=2))
        sound = await client.submit(TextToAudio(prompt="rain on a tin roof", duration=5))
        fetched = {}
        for task in (video, images, sound):
            for url, kind in task.result_files():
                async with http.get(url) as response:
                    assert response.status == 200
                    fetched[url] = (kind, response.content_type, await response.read())
    kinds = sorted((kind, ctype) for kind, ctype, _ in fetched.values())
    assert kinds == [
        ("audio", "audio/mpeg"),
        ("audio", "audio/wav"),
        ("image", "image/png"),
        ("image", "image/png"),
        ("video", "video/mp4"),
    ]
    for kind, ctype, data in fetched.values():
        if kind == "video":
            assert mp4_info(data)["ms"] == 10_000
        elif kind == "image":
            assert png_info(data) == (128, 128)
        elif ctype == "audio/mpeg":
            assert mp3_frames(data) > 100
        else:
            with wave.open(io.BytesIO(data)) as w:
                assert w.getnframes() > 0
