from django.contrib import admin

from inventory.models import InventoryRow, Location, Movement, Part, StockLevel, Warehouse


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "source", "allocadence_id", "is_active", "needs_review"]
    list_filter = ["source", "is_active", "needs_review"]
    search_fields = ["code", "name"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "warehouse", "parent", "is_default"]
    list_filter = ["warehouse", "is_default"]
    search_fields = ["code", "name", "warehouse__code"]
    list_select_related = ["warehouse", "parent__warehouse"]
    raw_id_fields = ["parent"]


@admin.register(Part)
class PartAdmin(admin.ModelAdmin):
    list_display = ["sku", "description", "client", "kind", "low_stock_threshold", "is_active"]
    list_filter = ["client", "kind", "is_active"]
    search_fields = ["sku", "description"]
    list_select_related = ["client"]
    filter_horizontal = ["alternates"]
    readonly_fields = ["image", "thumbnail", "created_at", "updated_at"]


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Quantities change only through the ledger (inventory.services); the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InventoryRow)
class InventoryRowAdmin(_ReadOnlyAdmin):
    list_display = ["part", "warehouse", "location", "type", "quantity", "updated_at"]
    list_filter = ["type", "warehouse"]
    search_fields = ["part__sku", "location__code"]
    list_select_related = ["part", "warehouse", "location__warehouse"]


@admin.register(Movement)
class MovementAdmin(_ReadOnlyAdmin):
    list_display = ["created_at", "part", "warehouse", "location", "type", "delta", "reason", "reference_kind", "user"]
    list_filter = ["type", "reference_kind", "warehouse"]
    search_fields = ["part__sku", "reason", "reference"]
    list_select_related = ["part", "warehouse", "location__warehouse", "user"]
    date_hierarchy = "created_at"


@admin.register(StockLevel)
class StockLevelAdmin(_ReadOnlyAdmin):
    list_display = ["part", "warehouse", "available", "reserved", "obsolete", "allocated", "planned", "ordered"]
    list_filter = ["warehouse"]
    search_fields = ["part__sku"]
    list_select_related = ["part", "warehouse"]
