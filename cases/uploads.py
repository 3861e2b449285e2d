"""Uploads that stop at a size limit (the semester import, attachments)."""

from __future__ import annotations

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest


class SizeLimitHandler(FileUploadHandler):
    """Stops reading an upload as soon as it passes `limit` bytes: nothing larger is kept, not
    even in a temporary file; the form then says the file is too large (`too_large`).

    Install it before anything reads the body (the CSRF check would):
    `request.upload_handlers.insert(0, SizeLimitHandler(request, limit))`."""

    def __init__(self, request: HttpRequest | None = None, limit: int = 0) -> None:
        super().__init__(request)
        self.limit = limit
        self.too_large = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self.too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def limit_uploads(request: HttpRequest, limit: int) -> SizeLimitHandler:
    """Put a size limit in front of the request's upload handlers; returns it (read
    `too_large` after the form has read the body)."""
    handler = SizeLimitHandler(request, limit)
    request.upload_handlers.insert(0, handler)
    return handler
