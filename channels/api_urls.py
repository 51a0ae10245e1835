from django.urls import path
from rest_framework.routers import DefaultRouter

from channels import api

router = DefaultRouter(trailing_slash=True)
router.register("channel-sync", api.SyncRecordViewSet, basename="channel-sync")
router.register("channels", api.ChannelViewSet, basename="channel")
router.register("mappings", api.SkuMappingViewSet, basename="mapping")

# Open orders are set, not appended: POST and PUT on the collection are the same upsert.
open_orders = api.OpenOrderViewSet.as_view({"get": "list", "post": "create", "put": "create"})

urlpatterns = [path("open-orders/", open_orders, name="open-orders"), *router.urls]
