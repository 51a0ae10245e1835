"""Every app registers its API views on the one router here, under /api/v1/."""

from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from core.errors import page_not_found


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    return page_not_found(request)


urlpatterns = [
    path("", include("inventory.api_urls")),
    path("", include("jobs.api_urls")),
    path("", include("channels.api_urls")),
    path("", include("purchasing.api_urls")),
    path("", include("bom.api_urls")),
    # Anything else under /api/v1/ ending in a slash (an id that is not a number, a typo) is a JSON 404, in DEBUG
    # too; paths without the slash still resolve to nothing, so APPEND_SLASH redirects them as before.
    re_path(r"^[\s\S]*/$", api_not_found, name="api-not-found"),
]
