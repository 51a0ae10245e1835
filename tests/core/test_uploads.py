"""Uploads are stored only up to the largest size a form accepts, and report the size that was sent."""

import os

from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.test import RequestFactory

from imports.engine import all_importers
from inventory.images import MAX_IMAGE_BYTES


def test_every_upload_limit_fits_under_the_upload_cap(settings):
    # a consumer whose limit were above the cap would read a file cut off at the cap as if it were whole
    limits = {importer.kind: importer.max_bytes for importer in all_importers()} | {"image": MAX_IMAGE_BYTES}

    assert limits and max(limits.values()) <= settings.UPLOAD_MAX_BYTES, limits


def test_capped_upload_handler_keeps_one_byte_over_the_cap_and_reports_the_size_sent(settings):
    # given a cap of 4 KiB and a request too big to be kept in memory
    settings.UPLOAD_MAX_BYTES = 4096
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    content = b"0123456789abcdef" * 6400  # 102,400 bytes
    request = RequestFactory().post("/upload/", {"file": SimpleUploadedFile("big.csv", content, "text/csv")})

    # when Django parses the upload
    uploaded = request.FILES["file"]

    # then 4,097 bytes are on disk (what a reader of limit + 1 bytes needs to see the excess) and `size` is all
    assert isinstance(uploaded, TemporaryUploadedFile)
    assert uploaded.size == 102_400
    assert os.path.getsize(uploaded.temporary_file_path()) == 4097
    assert uploaded.read() == content[:4097]
    assert request.POST.dict() == {}


def test_capped_upload_handler_keeps_a_file_under_the_cap_whole(settings):
    settings.UPLOAD_MAX_BYTES = 4096
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    content = b"x" * 4096
    request = RequestFactory().post(
        "/upload/", {"file": SimpleUploadedFile("fits.csv", content, "text/csv"), "kind": "inventory"}
    )

    uploaded = request.FILES["file"]

    assert (uploaded.name, uploaded.size, uploaded.read()) == ("fits.csv", 4096, content)
    assert request.POST.dict() == {"kind": "inventory"}
