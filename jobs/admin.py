from django.contrib import admin

from jobs.models import Job, JobEvent, JobLine, ProductionStage


class JobLineInline(admin.TabularInline):
    """Read-only here: quantities change only through the job services (the ledger)."""

    model = JobLine
    extra = 0
    can_delete = False
    fields = ["part", "warehouse", "quantity", "reserved", "allocated", "consumed"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class JobEventInline(admin.TabularInline):
    model = JobEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "user", "kind", "from_state", "to_state", "from_stage", "to_stage", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "client", "state", "stage", "created_by", "created_at"]
    list_filter = ["state", "client", "stage"]
    search_fields = ["number", "title", "lines__part__sku"]
    list_select_related = ["client", "stage", "created_by"]
    readonly_fields = [
        "number",
        "client",
        "state",
        "stage",
        "output_part",
        "output_warehouse",
        "batch_size",
        "created_by",
        "created_at",
        "updated_at",
        "released_at",
        "done_at",
        "cancelled_at",
    ]
    inlines = [JobLineInline, JobEventInline]

    def has_add_permission(self, request):
        return False  # jobs are saved through the job form or the API, which reserve stock


@admin.register(ProductionStage)
class ProductionStageAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "is_active"]
    list_editable = ["position", "is_active"]
    ordering = ["position", "id"]


@admin.register(JobEvent)
class JobEventAdmin(admin.ModelAdmin):
    list_display = ["job", "created_at", "user", "kind", "from_state", "to_state", "from_stage", "to_stage"]
    list_filter = ["kind"]
    list_select_related = ["job", "user", "from_stage", "to_stage"]
    search_fields = ["job__number", "note"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
