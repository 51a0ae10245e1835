"""The headers `check --deploy` does not cover: Content-Security-Policy, Permissions-Policy, and nosniff +
Referrer-Policy on every response, media included."""

import re

from tests.core.test_media_privacy import media_root  # noqa: F401 - the fixture

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), midi=(), payment=(), usb=()"
)


def csp_directives(header: str) -> dict[str, str]:
    """The policy as {directive: sources}; django-csp writes the directives in no fixed order."""
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def assert_security_headers(response):
    assert csp_directives(response["Content-Security-Policy"]) == CSP
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_security_headers_on_a_page(login, coordinator):
    response = login(coordinator).get("/inventory/")

    assert response.status_code == 200
    assert_security_headers(response)
    assert response["X-Frame-Options"] == "DENY"


def test_security_headers_on_login_redirect_and_api(client, db):
    assert_security_headers(client.get("/inventory/"))
    assert_security_headers(client.get("/api/v1/inventory/"))


def test_security_headers_on_media(client, media_root):  # noqa: F811
    (media_root / "parts").mkdir()
    (media_root / "parts" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")

    response = client.get("/media/parts/a.png")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert_security_headers(response)


def test_security_headers_on_not_found(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert_security_headers(response)


def test_api_docs_page_loads_swagger_from_static_without_inline_code(client, db):
    response = client.get("/api/docs/")

    body = response.content.decode()
    assert response.status_code == 200
    assert_security_headers(response)
    assert re.findall(r'<script src="([^"]+)"', body) == [
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
        "/api/docs/?script=",
    ]
    assert "<style" not in body
    assert re.search(r"<script>", body) is None


def test_api_docs_init_script_is_javascript_naming_the_schema(client, db):
    response = client.get("/api/docs/?script=")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript"
    assert '"/api/schema/"' in response.content.decode()
