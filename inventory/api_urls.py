from rest_framework.routers import DefaultRouter

from inventory import api

router = DefaultRouter(trailing_slash=True)
router.register("warehouses", api.WarehouseViewSet, basename="warehouse")
router.register("parts", api.PartViewSet, basename="part")
router.register("inventory/adjustments", api.AdjustmentViewSet, basename="inventory-adjustment")
router.register("inventory/moves", api.MoveViewSet, basename="inventory-move")
router.register("inventory", api.InventoryViewSet, basename="inventory")

urlpatterns = router.urls
