"""Exports to object storage (`s3://`, `gs://`, `az://`): complete at the final key, or absent.

Why fsspec (s3fs, gcsfs, adlfs) rather than obstore or pyarrow's S3FileSystem: one API
for all three clouds, it honours AWS_ENDPOINT_URL (MinIO, R2, test servers; pyarrow's
S3FileSystem ignores it), and `open(key, "wb", autocommit=False)` streams a multipart
upload that is *completed* only by `commit()` and aborted by `discard()`. (A plain
`with fs.open(key, "wb")` completes the upload even when an exception or Ctrl-C ends
the block, so it is never used here.) The export is written and checked locally
first, in a temporary folder, exactly as a local one; only a finished export is
uploaded, the data object first and its manifest (`KEY.manifest.json`) last. A failed
or interrupted upload is aborted: nothing appears at the key.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import UsageError

BACKENDS = {"s3": ("s3fs", "s3"), "gs": ("gcsfs", "gcs"), "gcs": ("gcsfs", "gcs"), "az": ("adlfs", "azure"),
            "abfs": ("adlfs", "azure")}
PART_BYTES = 8 * 1024 * 1024  # multipart chunk: memory held per upload


def is_remote(output: str) -> bool:
    """`scheme://...` (anything but a local path or `-`)."""
    return "://" in output


def check_remote(output: str) -> tuple[str, str]:
    """(scheme, module) of a supported object-storage URL; a usage error for anything else."""
    scheme = output.split("://", 1)[0].lower()
    if scheme not in BACKENDS:
        raise UsageError(f"--output {output!r}: {scheme}:// is not supported; use a local path, or s3://, gs:// or az://")
    module, extra = BACKENDS[scheme]
    try:
        __import__("fsspec")
        __import__(module)
    except ImportError:
        raise UsageError(f"--output {scheme}://... needs the {extra} extra: pip install 'helpspace-async[{extra}]'") from None
    if output.rstrip("/").count("/") < 3:
        raise UsageError(f"--output {output!r}: name a key inside the bucket, e.g. {scheme}://bucket/tickets.jsonl.gz")
    return scheme, module


class RemoteOutput:
    """A local staging folder for an export, and the upload of the finished files to the bucket."""

    def __init__(self, url: str) -> None:
        check_remote(url)
        self.url = url.rstrip("/")
        self.folder = Path(tempfile.mkdtemp(prefix="helpspace-upload-"))
        self.staging = self.folder / PurePosixPath(self.url.split("://", 1)[1]).name

    def _fs(self) -> Any:
        import fsspec

        return fsspec.filesystem(self.url.split("://", 1)[0])

    def preflight(self) -> None:
        """Before any API work: the bucket exists and takes a write (an empty probe object, then
        removed), so wrong credentials or a missing bucket fail now, not after the whole export."""
        probe = f"{self.url}.helpspace-preflight"
        try:
            fs = self._fs()
            bucket = self.url.split("://", 1)[1].split("/", 1)[0]
            if not fs.exists(bucket):
                raise UsageError(f"{self.url}: the bucket {bucket!r} does not exist (or these credentials can't see it)")
            fs.pipe(probe, b"")
            fs.rm(probe)
        except UsageError:
            raise
        except Exception as exc:  # every backend raises its own kinds: credentials, permissions, network
            raise UsageError(f"{self.url}: can't write there ({type(exc).__name__}: {exc}); check the bucket's "
                             "name and the credentials in the environment (e.g. AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL)") from None

    def upload(self, data: Path, manifest: Path | None) -> None:
        """The export (a file, or a folder of partitions), then its manifest; each completed only when whole."""
        fs = self._fs()
        files = sorted(p for p in data.rglob("*") if p.is_file()) if data.is_dir() else [data]
        for path in files:
            key = self.url if path == data else f"{self.url}/{path.relative_to(data).as_posix()}"
            upload_file(fs, path, key)
        if manifest is not None and manifest.exists():
            upload_file(fs, manifest, f"{self.url}.manifest.json")

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def upload_file(fs: Any, path: Path, key: str) -> None:
    """Stream one file to `key` as a multipart upload completed only at the end (aborted on any failure)."""
    target = fs.open(key, "wb", autocommit=False, block_size=PART_BYTES)
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(PART_BYTES), b""):
                target.write(block)
        target.close()  # uploads the last part; the object does not exist yet
        target.commit()  # completes the multipart upload: now it does
    except BaseException:
        target.discard()  # aborts the multipart upload: nothing at the key
        target.closed = True
        raise


def check_local_output(path: Path, *, folder: bool = False) -> None:
    """Before any API work: PATH can be written (its folder exists or can be made, and takes files)
    and is not a folder where a file is meant (or a file where a folder is)."""
    if path.is_dir() and not folder:
        raise UsageError(f"{path} is a folder: name a file to write (e.g. {path / 'tickets.jsonl.gz'})")
    if path.exists() and folder and not path.is_dir():
        raise UsageError(f"{path} is a file: name a folder")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"can't create the folder {parent}: {exc.strerror}") from None
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"can't write in {parent} (permission denied): choose another place, or fix its permissions")


def remove(url: str) -> None:
    """Delete an object (retention of nightly exports in a bucket)."""
    import fsspec

    fs = fsspec.filesystem(url.split("://", 1)[0])
    if fs.exists(url):
        fs.rm(url, recursive=True)
