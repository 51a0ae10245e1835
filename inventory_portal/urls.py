from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from inventory_portal import dashboard

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("", include("core.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("inventory/", include("inventory.urls")),
    path("imports/", include("imports.urls")),
    path("jobs/", include("jobs.urls")),
    path("bom/", include("bom.urls")),
    path("allocadence/", include("allocadence.urls")),
    path("channels/", include("channels.urls")),
    path("purchasing/", include("purchasing.urls")),
    path("api/v1/", include("inventory_portal.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its init script from its own URL: no inline script for the CSP to refuse.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    # For browsers that ask before (or without) reading the page's <link rel="icon">. Permanent, so to the
    # unhashed name: whitenoise serves it too, and a hashed one would go stale in browsers' caches.
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}img/favicon.png", permanent=True)),
    # Part images and thumbnails only: imports and exports under MEDIA_ROOT are private and
    # are served by their own views after a permission and client check.
    path(
        f"{settings.MEDIA_URL.strip('/')}/parts/<path:path>",
        serve,
        {"document_root": settings.MEDIA_ROOT / "parts"},
        name="part-media",
    ),
]

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
