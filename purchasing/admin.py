from django.contrib import admin

from purchasing.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderPush, Supplier


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "client", "email", "lead_time_days", "is_active"]
    list_filter = ["client", "is_active"]
    search_fields = ["code", "name", "email"]
    list_select_related = ["client"]


class PurchaseOrderLineInline(admin.TabularInline):
    """Read-only: quantities change Planned/Ordered through the ledger, so lines are edited on the portal page."""

    model = PurchaseOrderLine
    extra = 0
    can_delete = False
    fields = ["part", "quantity", "unit_cost", "expected_date", "received_quantity"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    list_display = ["number", "client", "supplier", "warehouse", "state", "expected_date", "created_at"]
    list_filter = ["state", "client", "warehouse"]
    search_fields = ["number", "supplier__name", "notes"]
    list_select_related = ["client", "supplier", "warehouse"]
    readonly_fields = [
        "number", "client", "supplier", "warehouse", "state", "created_by",
        "created_at", "updated_at", "ordered_at", "received_at", "cancelled_at",
    ]  # fmt: skip
    inlines = [PurchaseOrderLineInline]

    def has_add_permission(self, request):
        return False


@admin.register(PurchaseOrderLine)
class PurchaseOrderLineAdmin(admin.ModelAdmin):
    list_display = ["po", "part", "quantity", "received_quantity", "unit_cost", "expected_date"]
    search_fields = ["po__number", "part__sku"]
    list_select_related = ["po", "part"]
    readonly_fields = ["po", "part", "quantity", "received_quantity"]

    def has_add_permission(self, request):
        return False


@admin.register(PurchaseOrderPush)
class PurchaseOrderPushAdmin(admin.ModelAdmin):
    list_display = ["order_number", "status", "attempts", "allocadence_order_id", "acknowledged_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["order_number"]
    readonly_fields = [
        "po", "order_number", "allocadence_order_id", "attempts", "claimed_at", "acknowledged_at",
        "created_at", "updated_at",
    ]  # fmt: skip
