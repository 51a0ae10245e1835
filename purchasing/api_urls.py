from rest_framework.routers import DefaultRouter

from purchasing.api import PurchaseOrderViewSet, SupplierViewSet

router = DefaultRouter(trailing_slash=True)
router.register("suppliers", SupplierViewSet, basename="supplier")
router.register("purchase-orders", PurchaseOrderViewSet, basename="purchase-order")

urlpatterns = router.urls
