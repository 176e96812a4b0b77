"""Writing bundle zips, and reading untrusted ones safely.

`read_archive` is the zip-safety gate every upload passes before anything else looks at it: it refuses
(BundleRefused, with a message naming the problem) an upload over the size limit, a file that is not a zip,
too many entries, encrypted entries, names that are absolute, contain `..` or backslashes or drive letters,
symlinks and other non-regular entries, duplicate names, names the format does not know, entries whose
declared or *actual* size passes the per-file or total limits (read with a bounded reader, since declared
sizes can lie), and entries over 1 MiB compressed past the ratio limit (zip bombs). It checks structure
only; the manifest and hashes are checked by `bundles.verification`.
"""

import io
import stat
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO

from bundles import format as bundle_format

_READ_CHUNK = 64 * 1024
_RATIO_FLOOR_BYTES = 1024 * 1024
# A fixed timestamp for every entry: bundles of the same content are byte-identical apart from the manifest.
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_FIXED_NAMES = frozenset({bundle_format.MANIFEST_NAME, bundle_format.SPANS_NAME, bundle_format.README_NAME})


class BundleRefused(ValueError):
    """The upload is not a bundle this server accepts; the message says why, for a 400 answer."""


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_upload_bytes: int
    max_uncompressed_bytes: int
    max_file_bytes: int
    max_files: int
    max_compression_ratio: int


def write_archive(files: dict[str, bytes]) -> bytes:
    """A zip of the files (manifest first, then by name), deflated, with fixed timestamps."""
    buffer = io.BytesIO()
    order = sorted(files, key=lambda name: (name != bundle_format.MANIFEST_NAME, name))
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


def read_archive(upload: IO[bytes], size_bytes: int, limits: ArchiveLimits) -> dict[str, bytes]:
    """Every file of an untrusted bundle zip by name, or BundleRefused before more than the limits is read."""
    if size_bytes > limits.max_upload_bytes:
        raise BundleRefused(
            f"upload is {size_bytes} bytes, over the limit of {limits.max_upload_bytes} bytes (BUNDLE_MAX_UPLOAD_BYTES)"
        )
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BundleRefused(f"upload is not a zip file: {exc}") from exc
    with archive:
        infos = archive.infolist()
        _check_entries(infos, limits)
        files: dict[str, bytes] = {}
        total = 0
        for info in infos:
            data = _read_bounded(archive, info, limits.max_file_bytes)
            total += len(data)
            if total > limits.max_uncompressed_bytes:
                raise BundleRefused(
                    f"bundle uncompresses to more than {limits.max_uncompressed_bytes} bytes "
                    "(BUNDLE_MAX_UNCOMPRESSED_BYTES)"
                )
            files[info.filename] = data
    return files


def _check_entries(infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    if len(infos) > limits.max_files:
        raise BundleRefused(f"bundle has {len(infos)} files, over the limit of {limits.max_files} (BUNDLE_MAX_FILES)")
    seen: set[str] = set()
    declared_total = 0
    for info in infos:
        name = info.filename
        mode = info.external_attr >> 16
        # Zips made on Windows, and by some libraries, carry no Unix file type (0); any other type must be a
        # regular file.
        if info.is_dir() or stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            kind = "symlink" if stat.S_ISLNK(mode) else "directory" if info.is_dir() else "special file"
            raise BundleRefused(f"bundle entry {name!r} is a {kind}; only regular files are allowed")
        _check_name(name)
        if name in seen:
            raise BundleRefused(f"duplicate file name in bundle: {name!r}")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise BundleRefused(f"encrypted entry in bundle: {name!r}")
        if info.file_size > limits.max_file_bytes:
            raise BundleRefused(
                f"{name!r} declares {info.file_size} bytes, over the per-file limit of "
                f"{limits.max_file_bytes} "
                "(BUNDLE_MAX_FILE_BYTES)"
            )
        # Small entries may compress very well and harm nobody; the ratio matters once sizes are large.
        if info.file_size > _RATIO_FLOOR_BYTES and info.file_size > limits.max_compression_ratio * max(
            info.compress_size, 1
        ):
            raise BundleRefused(
                f"{name!r} is compressed {info.file_size // max(info.compress_size, 1)}:1, past the limit of "
                f"{limits.max_compression_ratio}:1 (BUNDLE_MAX_COMPRESSION_RATIO; looks like a zip bomb)"
            )
        declared_total += info.file_size
    if declared_total > limits.max_uncompressed_bytes:
        raise BundleRefused(
            f"bundle declares {declared_total} uncompressed bytes, over the limit of "
            f"{limits.max_uncompressed_bytes} "
            "(BUNDLE_MAX_UNCOMPRESSED_BYTES)"
        )


def _check_name(name: str) -> None:
    if not name:
        raise BundleRefused("bundle entry with an empty name")
    if "\\" in name:
        raise BundleRefused(f"bundle path {name!r} contains a backslash")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise BundleRefused(f"bundle path {name!r} is absolute")
    if ".." in name.split("/") or "\x00" in name:
        raise BundleRefused(f"bundle path {name!r} points outside the bundle")
    if name not in _FIXED_NAMES and not bundle_format.is_payload_path(name):
        raise BundleRefused(
            f"unexpected file in bundle: {name!r} (a bundle holds manifest.json, spans.otlp.json, README.md "
            "and payloads/<sha256>)"
        )


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    # Reads at most limit + 1 bytes whatever the entry declares: a lying header cannot inflate past the limit.
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(min(_READ_CHUNK, limit + 1 - size)):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise BundleRefused(
                        f"{info.filename!r} uncompresses past the per-file limit of {limit} bytes "
                        "(BUNDLE_MAX_FILE_BYTES)"
                    )
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError, ValueError, zlib.error) as exc:
        # ValueError: a damaged directory can place an entry before the file's start (a negative seek).
        raise BundleRefused(f"{info.filename!r} cannot be read from the zip: {exc}") from exc
    data = b"".join(chunks)
    if len(data) != info.file_size:
        raise BundleRefused(
            f"{info.filename!r} declares {info.file_size} bytes but holds {len(data)} (corrupted or forged zip)"
        )
    return data
