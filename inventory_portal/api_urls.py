"""Every app registers its API views on the one router here, under /api/v1/."""

from django.urls import include, path

urlpatterns = [
    path("", include("inventory.api_urls")),
    path("", include("jobs.api_urls")),
    path("", include("channels.api_urls")),
    path("", include("purchasing.api_urls")),
]
