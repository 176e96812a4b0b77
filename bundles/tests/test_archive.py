"""The zip-safety gate: every kind of hostile or broken zip is refused with a message naming the problem."""

import io
import random
import stat
import struct
import zipfile
from dataclasses import replace

import pytest

from bundles.archive import ArchiveLimits, BundleRefused, read_archive, write_archive
from bundles.tests.factories import raw_zip

LIMITS = ArchiveLimits(
    max_upload_bytes=1_000_000,
    max_uncompressed_bytes=6_000_000,
    max_file_bytes=4_000_000,
    max_files=5,
    max_compression_ratio=100,
)
SHA = "ab" * 32


def _read(data: bytes, limits: ArchiveLimits = LIMITS) -> dict[str, bytes]:
    return read_archive(io.BytesIO(data), len(data), limits)


def _info(name: str, mode: int = stat.S_IFREG | 0o644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    return info


def test_a_well_formed_bundle_zip_is_read_whole() -> None:
    files = {"manifest.json": b"{}", "spans.otlp.json": b"[]", "README.md": b"# hi", f"payloads/{SHA}": b"x"}

    assert _read(write_archive(files)) == files


def test_archive_writing_is_reproducible() -> None:
    files = {"manifest.json": b"{}", "spans.otlp.json": b"[]"}

    assert write_archive(files) == write_archive(dict(reversed(files.items())))


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("/etc/passwd", b"x")], "is absolute"),
        ([("C:/windows/x", b"x")], "is absolute"),
        ([("../manifest.json", b"x")], "points outside the bundle"),
        ([("payloads/../../x", b"x")], "points outside the bundle"),
        ([("payloads\\" + SHA, b"x")], "contains a backslash"),
        ([(_info("manifest.json", stat.S_IFLNK | 0o777), b"/etc/passwd")], "is a symlink"),
        ([(_info("payloads/", stat.S_IFDIR | 0o755), b"")], "is a directory"),
        (
            [("manifest.json", b"{}"), ("manifest.json", b"{}")],
            "duplicate file name in bundle: 'manifest.json'",
        ),
        ([("manifest.json", b"{}"), ("run.sh", b"rm -rf /")], "unexpected file in bundle: 'run.sh'"),
        ([("payloads/not-a-hash", b"x")], "unexpected file in bundle: 'payloads/not-a-hash'"),
        ([(f"payloads/{i:064x}", b"x") for i in range(6)], "bundle has 6 files, over the limit of 5"),
        ([("spans.otlp.json", b"\0" * 3_000_000)], "compressed .*:1, past the limit of 100:1"),
        ([("spans.otlp.json", bytes(range(256)) * 16_000)], "over the per-file limit of 4000000"),
    ],
)
def test_hostile_zips_are_refused(entries: list[tuple[zipfile.ZipInfo | str, bytes]], message: str) -> None:
    with pytest.raises(BundleRefused, match=message):
        _read(raw_zip(entries))


def test_total_uncompressed_size_is_bounded() -> None:
    noise = random.Random(7)
    entries: list[tuple[zipfile.ZipInfo | str, bytes]] = [
        (name, noise.randbytes(2_500_000)) for name in ("spans.otlp.json", "README.md", "manifest.json")
    ]

    with pytest.raises(BundleRefused, match="over the limit of 6000000"):
        _read(raw_zip(entries), replace(LIMITS, max_upload_bytes=100_000_000))


def test_upload_over_the_size_limit_is_refused_before_reading() -> None:
    with pytest.raises(BundleRefused, match="upload is 1000001 bytes, over the limit of 1000000"):
        read_archive(io.BytesIO(b""), 1_000_001, LIMITS)


def test_something_that_is_not_a_zip_is_refused() -> None:
    with pytest.raises(BundleRefused, match="not a zip file"):
        _read(b"PK\x03\x04 but not really a zip")


def test_a_directory_offset_pointing_past_the_directory_is_refused() -> None:
    # Found by make fuzz: zipfile then places the entries before the file's start and seeks there (ValueError).
    data = bytearray(raw_zip([("spans.otlp.json", b"[]")]))
    end = data.rindex(b"PK\x05\x06")
    (offset,) = struct.unpack_from("<I", data, end + 16)
    struct.pack_into("<I", data, end + 16, offset + 65_536)

    with pytest.raises(BundleRefused, match=r"'spans\.otlp\.json' cannot be read from the zip"):
        _read(bytes(data))


def test_a_header_declaring_less_than_the_entry_holds_is_refused() -> None:
    # The central directory claims 10 bytes; the deflated data inflates to 2 MB. The bounded read stops at the
    # declared size and the CRC no longer matches, so the entry is refused instead of inflated.
    data = bytearray(raw_zip([("spans.otlp.json", bytes(range(256)) * 8_000)]))
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10)

    with pytest.raises(BundleRefused, match=r"'spans\.otlp\.json' cannot be read from the zip"):
        _read(bytes(data))


def test_encrypted_entries_are_refused() -> None:
    data = bytearray(raw_zip([("manifest.json", b"{}")]))
    central = data.index(b"PK\x01\x02")
    flags = struct.unpack_from("<H", data, central + 8)[0]
    struct.pack_into("<H", data, central + 8, flags | 0x1)

    with pytest.raises(BundleRefused, match="encrypted entry"):
        _read(bytes(data))
