"""What a file is, read from its first bytes (and, for the office formats, the ZIP's index),
never from its name or the browser's Content-Type.

Allowed: PDF, DOCX, ODT, PNG, JPEG, GIF and WebP. The name's extension must agree with the
content (a `.pdf` that is HTML, an executable or a PNG is refused), so the downloaded file opens
in the program its name promises. A DOCX and an ODT are ZIP archives: only the archive's
directory is read (and the ODT's tiny `mimetype` member, at most 100 bytes), never the
documents themselves, so a ZIP bomb costs nothing.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from typing import IO

HEAD = 16


@dataclass(frozen=True)
class FileKind:
    content_type: str
    extensions: tuple[str, ...]


PDF = FileKind("application/pdf", (".pdf",))
DOCX = FileKind(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)
)
ODT = FileKind("application/vnd.oasis.opendocument.text", (".odt",))
PNG = FileKind("image/png", (".png",))
JPEG = FileKind("image/jpeg", (".jpg", ".jpeg"))
GIF = FileKind("image/gif", (".gif",))
WEBP = FileKind("image/webp", (".webp",))
KINDS = (PDF, DOCX, ODT, PNG, JPEG, GIF, WEBP)
CONTENT_TYPES = frozenset(k.content_type for k in KINDS)
EXTENSIONS = tuple(e for k in KINDS for e in k.extensions)


def _zip_kind(stream: IO[bytes]) -> FileKind | None:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names and "[Content_Types].xml" in names:
                return DOCX
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size <= 100:
                    with archive.open(info) as member:
                        if member.read(100).strip() == ODT.content_type.encode():
                            return ODT
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError, NotImplementedError):
        return None
    return None


def sniff(stream: IO[bytes]) -> FileKind | None:
    """The kind of the file by its content, or None when it is none of the allowed ones. The
    stream is left at its start."""
    stream.seek(0)
    head = stream.read(HEAD)
    stream.seek(0)
    kind: FileKind | None = None
    if head.startswith(b"%PDF-"):
        kind = PDF
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = PNG
    elif head.startswith(b"\xff\xd8\xff"):
        kind = JPEG
    elif head.startswith((b"GIF87a", b"GIF89a")):
        kind = GIF
    elif head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        kind = WEBP
    elif head.startswith(b"PK\x03\x04"):
        kind = _zip_kind(stream)
    stream.seek(0)
    return kind


def extension_fits(name: str, kind: FileKind) -> bool:
    return name.lower().endswith(kind.extensions)
