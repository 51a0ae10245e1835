"""Uploads are stored only up to the largest size any form accepts.

Django's default handlers write a whole upload to memory or a temporary file before any form
can look at its size, so a multi-gigabyte upload filled the disk before "the limit is 20 MB"
was said. `CappedUploadHandler` keeps at most `UPLOAD_MAX_BYTES` + 1 bytes of each file and
counts the rest without storing it; the file it hands over reports the size that was *sent*, so
the form that checks `size` against its own limit (CSV imports 20 MB, images 5 MB) still names
the real size in its message. Every such limit must stay at or below `UPLOAD_MAX_BYTES` (a test
holds them to it): a consumer with a larger limit would read a cut-off file. The bytes still
cross the network; a proxy in front (`client_max_body_size`) is what refuses them earlier.
"""

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler


class CappedUploadHandler(FileUploadHandler):
    """Every file not already kept in memory: a temporary file holding at most UPLOAD_MAX_BYTES + 1 bytes."""

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.cap = settings.UPLOAD_MAX_BYTES + 1  # one byte more: a reader of max+1 bytes sees the excess
        self.kept = 0
        self.file = TemporaryUploadedFile(self.file_name, self.content_type, 0, self.charset, self.content_type_extra)

    def receive_data_chunk(self, raw_data, start):
        if self.kept < self.cap:
            chunk = raw_data[: self.cap - self.kept]
            self.file.write(chunk)
            self.kept += len(chunk)
        return None  # consumed here, stored or not: no later handler sees it

    def file_complete(self, file_size):
        self.file.seek(0)
        self.file.size = file_size  # what the client sent, not what was kept
        return self.file

    def upload_interrupted(self):
        if hasattr(self, "file"):
            self.file.close()
