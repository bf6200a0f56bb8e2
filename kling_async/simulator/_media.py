"""Small, valid media files for the simulator's results, made with the standard library.

- ``png``: a 128x128 RGB gradient (zlib-compressed rows, CRC-checked chunks).
- ``mp4``: an H.264 Baseline video, 128x96 at 2 frames per second, as long as asked:
  one IDR frame of uncompressed ``I_PCM`` macroblocks (a colour gradient) followed by
  P frames whose macroblocks are all skipped (the picture holds still). The container
  is ISO BMFF with ``moov`` before ``mdat`` (plays while downloading).
- ``wav``: 8 kHz mono 16-bit PCM, a quiet sine tone (stdlib :mod:`wave`).
- ``mp3``: MPEG-1 Layer III frames, 32 kbit/s mono at 32 kHz, each decoding to silence.

Every generator takes a ``tint`` (0-255) so different tasks give different bytes.
"""

from __future__ import annotations

import io
import math
import struct
import wave
import zlib
from functools import lru_cache

from kling_async.errors import UsageError

__all__ = ["mp3", "mp4", "png", "wav"]


# -- PNG ----------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@lru_cache(maxsize=64)
def png(tint: int, width: int = 128, height: int = 128) -> bytes:
    """A ``width`` x ``height`` RGB gradient PNG."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            rows += bytes((tint, x * 255 // width, y * 255 // height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


# -- WAV / MP3 ----------------------------------------------------------------


@lru_cache(maxsize=16)
def wav(seconds: float, tint: int = 0, rate: int = 8000) -> bytes:
    """Mono 16-bit PCM: a quiet tone of ``seconds`` (pitch set by ``tint``)."""
    frames = max(1, int(seconds * rate))
    pitch = 220 + tint
    samples = b"".join(
        struct.pack("<h", int(2000 * math.sin(2 * math.pi * pitch * i / rate)))
        for i in range(frames)
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples)
    return out.getvalue()


MP3_FRAME_BYTES = 144
"""One MPEG-1 Layer III frame at 32 kbit/s and 32 kHz: 144 * 32000 / 32000 bytes."""
MP3_FRAME_SECONDS = 1152 / 32000


@lru_cache(maxsize=16)
def mp3(seconds: float, tint: int = 0) -> bytes:
    """Silent MPEG-1 Layer III frames lasting ``seconds``.

    Header ``FF FB 18 C4``: MPEG-1, layer III, no CRC, 32 kbit/s, 32 kHz, no padding,
    mono, original. The 17-byte side information is all zero (no main data), which
    decodes to silence; ``tint`` goes into the unused bytes after it.
    """
    count = max(1, round(seconds / MP3_FRAME_SECONDS))
    header = b"\xff\xfb\x18\xc4"
    body = bytes(17) + bytes([tint]) * (MP3_FRAME_BYTES - 4 - 17)
    return (header + body) * count


# -- H.264 in MP4 ---------------------------------------------------------------


class _Bits:
    """An H.264 RBSP bit writer (fixed-width, Exp-Golomb, trailing bits)."""

    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, width: int, value: int) -> None:
        self.bits.extend((value >> i) & 1 for i in range(width - 1, -1, -1))

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(code.bit_length() * 2 - 1, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align_zero(self) -> None:
        while len(self.bits) % 8:
            self.bits.append(0)

    def trailing(self) -> None:
        self.bits.append(1)
        self.align_zero()

    def raw(self, data: bytes) -> None:
        assert len(self.bits) % 8 == 0
        for byte in data:
            self.u(8, byte)

    def to_bytes(self) -> bytes:
        assert len(self.bits) % 8 == 0
        out = bytearray()
        for i in range(0, len(self.bits), 8):
            byte = 0
            for bit in self.bits[i : i + 8]:
                byte = byte << 1 | bit
            out.append(byte)
        return bytes(out)


def _nal(header: int, rbsp: bytes) -> bytes:
    """A NAL unit: header byte + payload with emulation-prevention bytes."""
    out = bytearray([header])
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


_PROFILE, _CONSTRAINTS, _LEVEL = 66, 0xC0, 30  # constrained baseline, level 3.0
_LOG2_MAX_FRAME_NUM = 8


def _sps(mbs_wide: int, mbs_high: int) -> bytes:
    b = _Bits()
    b.u(8, _PROFILE)
    b.u(8, _CONSTRAINTS)
    b.u(8, _LEVEL)
    b.ue(0)  # seq_parameter_set_id
    b.ue(_LOG2_MAX_FRAME_NUM - 4)
    b.ue(2)  # pic_order_cnt_type 2: output order = decoding order
    b.ue(1)  # max_num_ref_frames
    b.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
    b.ue(mbs_wide - 1)
    b.ue(mbs_high - 1)
    b.u(1, 1)  # frame_mbs_only_flag
    b.u(1, 1)  # direct_8x8_inference_flag
    b.u(1, 0)  # frame_cropping_flag
    b.u(1, 0)  # vui_parameters_present_flag
    b.trailing()
    return _nal(0x67, b.to_bytes())


def _pps() -> bytes:
    b = _Bits()
    b.ue(0)  # pic_parameter_set_id
    b.ue(0)  # seq_parameter_set_id
    b.u(1, 0)  # entropy_coding_mode_flag: CAVLC
    b.u(1, 0)  # bottom_field_pic_order_in_frame_present_flag
    b.ue(0)  # num_slice_groups_minus1
    b.ue(0)  # num_ref_idx_l0_default_active_minus1
    b.ue(0)  # num_ref_idx_l1_default_active_minus1
    b.u(1, 0)  # weighted_pred_flag
    b.u(2, 0)  # weighted_bipred_idc
    b.se(0)  # pic_init_qp_minus26
    b.se(0)  # pic_init_qs_minus26
    b.se(0)  # chroma_qp_index_offset
    b.u(1, 0)  # deblocking_filter_control_present_flag
    b.u(1, 0)  # constrained_intra_pred_flag
    b.u(1, 0)  # redundant_pic_cnt_present_flag
    b.trailing()
    return _nal(0x68, b.to_bytes())


def _idr(mbs_wide: int, mbs_high: int, tint: int) -> bytes:
    b = _Bits()
    b.ue(0)  # first_mb_in_slice
    b.ue(7)  # slice_type: I (every slice of the picture)
    b.ue(0)  # pic_parameter_set_id
    b.u(_LOG2_MAX_FRAME_NUM, 0)  # frame_num
    b.ue(0)  # idr_pic_id
    b.u(1, 0)  # no_output_of_prior_pics_flag
    b.u(1, 0)  # long_term_reference_flag
    b.se(0)  # slice_qp_delta
    for my in range(mbs_high):
        for mx in range(mbs_wide):
            b.ue(25)  # mb_type I_PCM
            b.align_zero()
            luma = 16 + (mx * 16 * 200) // (mbs_wide * 16)
            b.raw(bytes([luma + (my & 1) * 8]) * 256)
            b.raw(bytes([16 + tint * 224 // 255]) * 64)  # Cb
            b.raw(bytes([240 - (my * 224) // max(1, mbs_high - 1)]) * 64)  # Cr
    b.trailing()
    return _nal(0x65, b.to_bytes())


def _p_skip(frame_num: int, mbs: int) -> bytes:
    b = _Bits()
    b.ue(0)  # first_mb_in_slice
    b.ue(5)  # slice_type: P (every slice of the picture)
    b.ue(0)  # pic_parameter_set_id
    b.u(_LOG2_MAX_FRAME_NUM, frame_num % (1 << _LOG2_MAX_FRAME_NUM))
    b.u(1, 0)  # num_ref_idx_active_override_flag
    b.u(1, 0)  # ref_pic_list_modification_flag_l0
    b.u(1, 0)  # adaptive_ref_pic_marking_mode_flag: sliding window
    b.se(0)  # slice_qp_delta
    b.ue(mbs)  # mb_skip_run: every macroblock copies the reference
    b.trailing()
    return _nal(0x61, b.to_bytes())


def _box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24 | flags), *parts)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


@lru_cache(maxsize=16)
def mp4(seconds: float, tint: int = 0, width: int = 128, height: int = 96, fps: int = 2) -> bytes:
    """An H.264 MP4 of ``seconds`` (at least one frame) at ``fps`` frames per second."""
    if width % 16 or height % 16:
        raise UsageError("width and height must be multiples of 16")
    mbs_wide, mbs_high = width // 16, height // 16
    sps, pps = _sps(mbs_wide, mbs_high), _pps()
    count = max(1, round(seconds * fps))
    frames = [_idr(mbs_wide, mbs_high, tint)] + [
        _p_skip(i, mbs_wide * mbs_high) for i in range(1, count)
    ]
    samples = [struct.pack(">I", len(f)) + f for f in frames]  # 4-byte NAL lengths
    timescale, delta = 1000, 1000 // fps
    duration = delta * count

    avcc = _box(
        b"avcC",
        bytes([1, _PROFILE, _CONSTRAINTS, _LEVEL, 0xFF, 0xE1]),
        struct.pack(">H", len(sps)),
        sps,
        b"\x01",
        struct.pack(">H", len(pps)),
        pps,
    )
    avc1 = _box(
        b"avc1",
        bytes(6),
        struct.pack(">H", 1),  # data_reference_index
        bytes(16),
        struct.pack(">HH", width, height),
        struct.pack(">II", 0x480000, 0x480000),  # 72 dpi
        bytes(4),
        struct.pack(">H", 1),  # frame_count
        bytes(32),  # compressorname
        struct.pack(">Hh", 0x18, -1),
        avcc,
    )

    def moov(offset: int) -> bytes:
        stbl = _box(
            b"stbl",
            _full(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
            _full(b"stts", 0, 0, struct.pack(">III", 1, count, delta)),
            _full(b"stss", 0, 0, struct.pack(">II", 1, 1)),
            _full(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, count, 1)),
            _full(
                b"stsz",
                0,
                0,
                struct.pack(">II", 0, count),
                b"".join(struct.pack(">I", len(s)) for s in samples),
            ),
            _full(b"stco", 0, 0, struct.pack(">II", 1, offset)),
        )
        minf = _box(
            b"minf",
            _full(b"vmhd", 0, 1, bytes(8)),
            _box(b"dinf", _full(b"dref", 0, 0, struct.pack(">I", 1), _full(b"url ", 0, 1))),
            stbl,
        )
        mdia = _box(
            b"mdia",
            _full(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, duration, 0x55C4, 0)),
            _full(b"hdlr", 0, 0, bytes(4), b"vide", bytes(12), b"VideoHandler\x00"),
            minf,
        )
        tkhd = _full(
            b"tkhd",
            0,
            3,
            struct.pack(">IIIII", 0, 0, 1, 0, duration),
            bytes(8),
            struct.pack(">hhhH", 0, 0, 0, 0),
            _MATRIX,
            struct.pack(">II", width << 16, height << 16),
        )
        mvhd = _full(
            b"mvhd",
            0,
            0,
            struct.pack(">IIIIIH", 0, 0, timescale, duration, 0x10000, 0x100),
            bytes(10),
            _MATRIX,
            bytes(24),
            struct.pack(">I", 2),  # next_track_ID
        )
        return _box(b"moov", mvhd, _box(b"trak", tkhd, mdia))

    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")
    head = len(ftyp) + len(moov(0)) + 8
    return ftyp + moov(head) + _box(b"mdat", *samples)
