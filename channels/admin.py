from django import forms
from django.contrib import admin, messages

from channels.models import Channel, OpenOrder, SkuMapping, SyncRecord
from channels.services import force_push


class ChannelAdminForm(forms.ModelForm):
    """Credentials are write-only here: the current ones are shown masked, new ones replace them whole."""

    new_credentials = forms.JSONField(
        required=False,
        label="Replace credentials",
        help_text='Leave empty to keep the current ones. Shopify: {"access_token": "…"}. '
        'Amazon: {"client_id": "…", "client_secret": "…", "refresh_token": "…"}.',
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    endpoint = forms.URLField(max_length=300, assume_scheme="https", help_text=Channel.endpoint.field.help_text)
    token_url = forms.URLField(
        max_length=300, required=False, assume_scheme="https", help_text=Channel.token_url.field.help_text
    )

    class Meta:
        model = Channel
        fields = [
            "client",
            "name",
            "code",
            "kind",
            "endpoint",
            "token_url",
            "location_id",
            "seller_id",
            "marketplace_ids",
            "warehouses",
            "buffer_stock",
            "percentage",
            "maximum",
            "is_active",
        ]

    def save(self, commit=True):
        channel = super().save(commit=False)
        replacement = self.cleaned_data.get("new_credentials")
        if replacement:
            channel.credentials = replacement
        if commit:
            channel.save()
            self.save_m2m()
        return channel


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelAdminForm
    list_display = ["name", "code", "client", "kind", "buffer_stock", "percentage", "maximum", "is_active"]
    list_filter = ["kind", "is_active", "client"]
    search_fields = ["name", "code", "endpoint"]
    filter_horizontal = ["warehouses"]
    readonly_fields = ["credentials_on_file", "created_at", "updated_at"]

    @admin.display(description="Credentials on file")
    def credentials_on_file(self, obj):
        masked = obj.masked_credentials if obj and obj.pk else {}
        return ", ".join(f"{key}: {value}" for key, value in masked.items()) or "—"


@admin.register(SkuMapping)
class SkuMappingAdmin(admin.ModelAdmin):
    list_display = [
        "channel_sku",
        "part",
        "channel",
        "channel_product_id",
        "is_active",
        "buffer_override",
        "back_order_quantity",
        "last_pushed_quantity",
        "last_pushed_at",
    ]
    list_filter = ["is_active", "channel", "client"]
    search_fields = ["channel_sku", "channel_product_id", "part__sku"]
    raw_id_fields = ["part"]
    list_select_related = ["part", "channel"]
    readonly_fields = ["last_pushed_quantity", "last_pushed_at", "created_at", "updated_at"]


@admin.register(OpenOrder)
class OpenOrderAdmin(admin.ModelAdmin):
    list_display = ["channel_sku", "channel", "quantity", "updated_at"]
    list_filter = ["channel"]
    search_fields = ["channel_sku"]


@admin.register(SyncRecord)
class SyncRecordAdmin(admin.ModelAdmin):
    """Read-only: records change only through the sync services (and Force Push)."""

    list_display = [
        "id",
        "client",
        "sku",
        "channel_sku",
        "channel_code",
        "quantity",
        "status",
        "attempts",
        "created_at",
        "error",
    ]
    list_filter = ["status", "channel", "client", "created_at"]
    search_fields = ["sku", "channel_sku", "channel_product_id", "reference"]
    date_hierarchy = "created_at"
    list_select_related = ["client"]
    show_full_result_count = False
    actions = ["force_push_selected"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Force Push the selected Error records", permissions=["force_push"])
    def force_push_selected(self, request, queryset):
        moved = force_push(records_qs_or_ids=queryset, user=request.user)
        self.message_user(request, f"{moved} record(s) moved back to In Process and queued.", messages.SUCCESS)

    def has_force_push_permission(self, request):
        return request.user.has_perm("channels.force_push_syncrecord")
