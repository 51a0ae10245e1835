"""The portal's icon: linked from every page's layout and from the API docs, and /favicon.ico never a 404."""

import io
import urllib.request

import pytest
from PIL import Image

from tests.core.test_security_headers import csp_directives

ICON_LINKS = (
    '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">\n'
    '<link rel="icon" href="/static/img/favicon.png" type="image/png" sizes="32x32">'
)

# Each linked icon loaded as an image, which the policy's img-src governs as it does the tab's icon.
LOAD_LINKED_ICONS = """() => Promise.all([...document.querySelectorAll('link[rel="icon"]')].map((link) =>
  new Promise((resolve) => {
    const image = new Image();
    image.onload = () => resolve([link.getAttribute("href"), image.naturalWidth, image.naturalHeight]);
    image.onerror = () => resolve([link.getAttribute("href"), 0, 0]);
    image.src = link.href;
  })))"""


def fetch(url: str) -> tuple[int, str, str, bytes]:
    """Status, final URL (after redirects), content type and body."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.url, response.headers["Content-Type"], response.read()


def test_favicon_ico_redirects_permanently_to_the_png(client, db):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"] == "/static/img/favicon.png"


def test_base_layout_links_the_svg_icon_and_the_png_fallback(client, db):
    response = client.get("/accounts/login/")

    body = response.content.decode()
    assert response.status_code == 200
    assert body.count(ICON_LINKS) == 1
    # same-origin paths, which the policy's img-src 'self' covers
    assert csp_directives(response["Content-Security-Policy"])["img-src"] == "'self' data:"


def test_error_pages_link_the_icon(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response.content.decode().count(ICON_LINKS) == 1


def test_api_docs_link_the_portal_icon_instead_of_swaggers(client, db):
    response = client.get("/api/docs/")

    body = response.content.decode()
    assert response.status_code == 200
    assert body.count(ICON_LINKS) == 1
    assert body.count('rel="icon"') == 2


def test_server_process_answers_favicon_ico_with_the_png_and_serves_the_svg(server_process):
    # when the real gunicorn process (whitenoise serving static/) is asked for both icons
    status, final_url, content_type, png = fetch(server_process + "/favicon.ico")
    svg_status, _, svg_type, svg = fetch(server_process + "/static/img/favicon.svg")

    # then /favicon.ico lands on the 32px PNG, and the SVG is served as an image
    assert (status, final_url, content_type) == (200, server_process + "/static/img/favicon.png", "image/png")
    with Image.open(io.BytesIO(png)) as image:
        assert (image.format, image.size) == ("PNG", (32, 32))
    assert (svg_status, svg_type.split(";")[0]) == (200, "image/svg+xml")
    assert svg.startswith(b'<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">')


@pytest.mark.browser
def test_browser_loads_both_linked_icons_under_the_content_security_policy(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")

    loaded = page.evaluate(LOAD_LINKED_ICONS)

    # a refused or broken icon would load as 0×0
    assert loaded == [["/static/img/favicon.svg", 32, 32], ["/static/img/favicon.png", 32, 32]]
