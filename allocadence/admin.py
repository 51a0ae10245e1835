from django.contrib import admin

from jobs.models import OrderPush


@admin.register(OrderPush)
class OrderPushAdmin(admin.ModelAdmin):
    list_display = [
        "order_number",
        "job",
        "warehouse",
        "status",
        "order_status",
        "allocadence_order_id",
        "attempts",
        "next_attempt_at",
        "confirmed_at",
        "updated_at",
    ]
    list_filter = ["status", "order_status", "warehouse"]
    search_fields = ["order_number", "job__number", "job__title", "=allocadence_order_id"]
    list_select_related = ["job", "warehouse"]
    raw_id_fields = ["job"]
    readonly_fields = ["created_at", "updated_at", "claimed_at", "confirmed_at"]
    ordering = ["-created_at"]
