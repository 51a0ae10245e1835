from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from core.models import ApiToken, Client, Membership, Preferences, SyncRun, WorkerHeartbeat


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "client", "created_at"]
    list_filter = ["client"]
    search_fields = ["user__username", "client__name"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "started_at", "finished_at", "progress_done", "progress_total"]
    list_filter = ["kind", "status"]
    search_fields = ["error", "detail"]
    date_hierarchy = "started_at"


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["queue", "hostname", "seen_at"]
    list_filter = ["queue"]
    search_fields = ["queue", "hostname"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only: tokens are issued on /tokens/ (the only place the key can be shown) and revoked there."""

    list_display = ["user", "name", "key_prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["user__username", "name", "key_prefix"]
    readonly_fields = [f.name for f in ApiToken._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class UserMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["client"]
    verbose_name = "client membership"


class PreferencesInline(admin.StackedInline):
    model = Preferences
    can_delete = False
    verbose_name_plural = "preferences (the user's change takes effect at their next login)"


class PortalUserAdmin(UserAdmin):
    """Django's user admin plus the user's clients, so roles and clients are set on one page."""

    inlines = [*UserAdmin.inlines, UserMembershipInline, PreferencesInline]
    list_filter = [*UserAdmin.list_filter, "memberships__client"]


admin.site.unregister(User)
admin.site.register(User, PortalUserAdmin)
