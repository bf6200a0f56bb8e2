"""Downloads stay inside --out and end in bounded time, against a hostile file server.

Each case runs a small aiohttp server on loopback (allowed explicitly, as the
simulator is) that misbehaves one way: symlinks in the output folder, redirects to
private addresses, oversize or endless bodies, gzip, wrong content types, a file
left from another batch.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import time
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from kling_async import Task
from kling_async.batch import (
    Downloader,
    DownloadError,
    DownloadRefusedError,
    FileRecord,
    file_names,
)
from kling_async.batch._downloads import is_public_host

BODY = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


def image_task(*urls: str) -> Task:
    return Task.model_validate(
        {
            "task_id": "1",
            "task_status": "succeed",
            "created_at": int(time.time() * 1000),
            "task_result": {"images": [{"url": u} for u in urls]},
        }
    )


class Hostile:
    """Routes: /ok.png, /redirect?to=..., /big.png (chunked), /slow.png, /gzip.png,
    /html.png, /loop.png (redirects to itself)."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.app = web.Application()
        self.app.router.add_get("/{name}", self.handle)
        self.base = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.hits[name] = self.hits.get(name, 0) + 1
        if name == "redirect.png":
            raise web.HTTPTemporaryRedirect(request.query["to"])
        if name == "loop.png":
            raise web.HTTPFound("/loop.png")
        if name == "html.png":
            return web.Response(text="<html>login</html>", content_type="text/html")
        if name == "gzip.png":
            packed = gzip.compress(BODY)
            return web.Response(
                body=packed,
                headers={"Content-Encoding": "gzip", "Content-Type": "image/png"},
            )
        if name in ("big.png", "slow.png"):
            response = web.StreamResponse(headers={"Content-Type": "image/png"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for _ in range(10_000):
                await response.write(b"x" * (4096 if name == "big.png" else 1))
                if name == "slow.png":
                    await asyncio.sleep(0.05)
            return response
        return web.Response(body=BODY, content_type="image/png")


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    server = Hostile()
    runner = web.AppRunner(server.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


def downloader(folder: Path, **kwargs: object) -> Downloader:
    options: dict[str, object] = {
        "attempts": 2,
        "initial_delay": 0.001,
        "allow_hosts": {"127.0.0.1"},
    }
    options.update(kwargs)
    return Downloader(folder, **options)  # type: ignore[arg-type]


def outside_files(root: Path, folder: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and folder not in p.parents]


async def test_a_symlink_at_the_destination_is_refused(tmp_path: Path, hostile: Hostile) -> None:
    """A planted symlink named like the result is refused; its target is untouched."""
    folder = tmp_path / "files"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    url = f"{hostile.base}/ok.png"
    (folder / file_names("job", [url])[0]).symlink_to(victim)
    downloads = downloader(folder)
    try:
        with pytest.raises(DownloadRefusedError, match="symlink"):
            await downloads.fetch_task("job", image_task(url))
    finally:
        await downloads.aclose()
    assert victim.read_text() == "keep me"


async def test_planted_part_symlinks_are_never_written_through(
    tmp_path: Path, hostile: Hostile
) -> None:
    """`.part` symlinks (any name a run might use) are removed at start, and a new
    temporary file is always created exclusively, never through a link."""
    folder = tmp_path / "files"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    url = f"{hostile.base}/ok.png"
    name = file_names("job", [url])[0]
    (folder / f".{name}.part").symlink_to(victim)
    downloads = downloader(folder)
    try:
        assert await downloads.clean_partials() == 1
        assert victim.read_text() == "keep me"
        (folder / f".{name}.part").symlink_to(victim)  # planted again during the run
        files = await downloads.fetch_task("job", image_task(url))
    finally:
        await downloads.aclose()
    assert victim.read_text() == "keep me"
    assert (folder / name).read_bytes() == BODY and files[0].size == len(BODY)


async def test_a_symlinked_output_folder_is_refused(tmp_path: Path, hostile: Hostile) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "files").symlink_to(elsewhere)
    downloads = downloader(tmp_path / "files")
    try:
        with pytest.raises(DownloadRefusedError, match="symlink"):
            await downloads.fetch_task("job", image_task(f"{hostile.base}/ok.png"))
    finally:
        await downloads.aclose()
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/x.png",
        "http://10.0.0.7/x.png",
        "http://[::1]:9/x.png",
        "http://localhost:{port}/ok.png",
        "file:///etc/passwd",
    ],
)
async def test_redirects_to_private_addresses_are_refused(
    tmp_path: Path, hostile: Hostile, target: str
) -> None:
    """Only http(s) hosts with public addresses are followed (names are checked at
    resolution: `localhost` is refused although 127.0.0.1 itself is allowed)."""
    port = hostile.base.rsplit(":", 1)[1]
    url = f"{hostile.base}/redirect.png?to={target.format(port=port)}"
    downloads = downloader(tmp_path)
    try:
        with pytest.raises(DownloadRefusedError):
            await downloads.fetch_task("job", image_task(url))
    finally:
        await downloads.aclose()
    assert list(tmp_path.iterdir()) == [] and hostile.hits.get("ok.png") is None


async def test_a_result_url_on_a_private_address_is_refused_by_default(tmp_path: Path) -> None:
    downloads = Downloader(tmp_path, attempts=1)
    try:
        with pytest.raises(DownloadRefusedError, match="private"):
            await downloads.fetch_task("job", image_task("http://192.168.1.1/x.png"))
    finally:
        await downloads.aclose()
    assert is_public_host("8.8.8.8") and not is_public_host("::ffff:127.0.0.1")


async def test_redirect_loops_end(tmp_path: Path, hostile: Hostile) -> None:
    downloads = downloader(tmp_path, max_redirects=3)
    try:
        with pytest.raises(DownloadRefusedError, match="redirects"):
            await downloads.fetch_task("job", image_task(f"{hostile.base}/loop.png"))
    finally:
        await downloads.aclose()
    assert hostile.hits["loop.png"] == 4


async def test_an_oversize_body_is_refused_and_nothing_is_kept(
    tmp_path: Path, hostile: Hostile
) -> None:
    downloads = downloader(tmp_path, max_bytes=100_000)
    try:
        with pytest.raises(DownloadRefusedError, match="cap"):
            await downloads.fetch_task("job", image_task(f"{hostile.base}/big.png"))
    finally:
        await downloads.aclose()
    assert list(tmp_path.iterdir()) == []


async def test_a_trickling_body_ends_at_the_deadline(tmp_path: Path, hostile: Hostile) -> None:
    """One byte every 50 ms never trips the read timeout; the per-file deadline ends it."""
    downloads = downloader(tmp_path, deadline=0.3, attempts=1)
    try:
        with pytest.raises(DownloadError, match="deadline"):
            await downloads.fetch_task("job", image_task(f"{hostile.base}/slow.png"))
    finally:
        await downloads.aclose()
    assert list(tmp_path.iterdir()) == []


async def test_a_gzip_encoded_body_is_stored_decoded(tmp_path: Path, hostile: Hostile) -> None:
    """Identity is asked for; a server that encodes anyway is decoded and its length
    is not compared with the compressed Content-Length."""
    downloads = downloader(tmp_path)
    try:
        files = await downloads.fetch_task("job", image_task(f"{hostile.base}/gzip.png"))
    finally:
        await downloads.aclose()
    assert (tmp_path / files[0].name).read_bytes() == BODY
    assert files[0].sha256 == hashlib.sha256(BODY).hexdigest()


async def test_a_wrong_content_type_is_refused(tmp_path: Path, hostile: Hostile) -> None:
    """An HTML page where an image is expected (an expired link's login page) is not a result."""
    downloads = downloader(tmp_path)
    try:
        with pytest.raises(DownloadRefusedError, match="text/html"):
            await downloads.fetch_task("job", image_task(f"{hostile.base}/html.png"))
    finally:
        await downloads.aclose()
    assert hostile.hits["html.png"] == 1 and list(tmp_path.iterdir()) == []


async def test_a_file_that_does_not_match_the_journal_is_downloaded_again(
    tmp_path: Path, hostile: Hostile
) -> None:
    """A file left in files/ (another batch's, or damaged) is never taken as done; a
    file matching its journaled size and checksum is kept without a request."""
    url = f"{hostile.base}/ok.png"
    name = file_names("job", [url])[0]
    (tmp_path / name).write_bytes(b"stale bytes from an earlier batch")
    downloads = downloader(tmp_path)
    try:
        files = await downloads.fetch_task("job", image_task(url))
        assert (tmp_path / name).read_bytes() == BODY and hostile.hits["ok.png"] == 1
        known = {f.name: f for f in files}
        again = await downloads.fetch_task("job", image_task(url), known=known)
        assert again == files and hostile.hits["ok.png"] == 1
        wrong = {name: FileRecord(name, len(BODY), "0" * 64)}
        await downloads.fetch_task("job", image_task(url), known=wrong)
        assert hostile.hits["ok.png"] == 2
    finally:
        await downloads.aclose()


def test_file_names_never_collide_and_fit() -> None:
    """`a` (2 outputs) and `a-0` give 3 names; case, Unicode normalisation and long
    ids cannot make two jobs share a name; every name is <= 255 bytes."""
    png = "https://cdn.example/x.png"
    names = file_names("a", [png, png]) + file_names("a-0", [png])
    assert len(set(names)) == 3
    ids = ["A", "a", "é", "e\u0301", "ＡＢ", "AB", "ab", "a_b", "a b", "a.b"]
    folded = [unicodedata.normalize("NFC", file_names(i, [png])[0]).casefold() for i in ids]
    assert len(set(folded)) == len(ids)
    emoji = "\U0001f98a" * 128
    (name,) = file_names(emoji, [png])
    assert len(name.encode()) <= 255 and name.startswith("\U0001f98a")
    many = file_names(emoji, [png] * 9)
    assert len(set(many)) == 9 and all(len(n.encode()) <= 255 for n in many)
    assert file_names("x", ["https://cdn.example/noext"])[0].endswith(".bin")
    assert file_names("x", ["https://cdn.example/a.PNG?sig=1"])[0].endswith(".png")
    assert not file_names("..", [png])[0].startswith(".")
    assert os.sep not in "".join(names)
