"""Only part images are public media; stored imports and exports are served by their own views."""

import pytest
from django.urls import get_resolver


@pytest.fixture
def media_root(settings, tmp_path, monkeypatch):
    """Point MEDIA_ROOT at a temp folder; the URL pattern captured its root at import, so patch it too."""
    settings.MEDIA_ROOT = tmp_path
    for pattern in get_resolver().url_patterns:
        if getattr(pattern, "name", None) == "part-media":
            monkeypatch.setitem(pattern.default_args, "document_root", tmp_path / "parts")
    return tmp_path


def test_media_serves_part_thumbnails_to_anyone(client, media_root):
    thumbs = media_root / "parts" / "thumbs"
    thumbs.mkdir(parents=True)
    (thumbs / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")

    response = client.get("/media/parts/thumbs/a.png")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x89PNG\r\n\x1a\n"


def test_media_never_serves_imports_or_exports(client, media_root):
    for folder in ("imports", "exports"):
        (media_root / folder).mkdir()
        (media_root / folder / "private.csv").write_text("sku,quantity\nA,1\n")

    assert client.get("/media/imports/private.csv").status_code == 404
    assert client.get("/media/exports/private.csv").status_code == 404
