"""REST API of channels: the sync log with Force Push, channels (read), mappings, open orders. Thin."""

from __future__ import annotations

from django.http import QueryDict
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from channels.filters import FILTER_PARAMS, SyncRecordFilter, sync_log_filter, sync_records_for
from channels.mapping_services import MappingConflict, create_mapping, deactivate_mapping, update_mapping
from channels.mapping_services import set_open_orders as set_open_orders_service
from channels.models import Channel, OpenOrder, SkuMapping, SyncRecord
from channels.services import force_push
from core.api import (
    ID_PATTERN,
    STRICT_FIELD_MAPPING,
    ClientScopedMixin,
    Conflict,
    StrictBooleanField,
    StrictCharField,
    is_unhandled_method,
)
from core.api_filters import check_query_params
from core.scoping import scope_to_user
from inventory.models import Part


class ModelPermissions(BasePermission):
    """Reads need the view's `read_permissions`; writes its `write_permissions` per action (model permissions)."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if is_unhandled_method(request, view):
            return True
        if request.method in SAFE_METHODS:
            return request.user.has_perms(getattr(view, "read_permissions", ()))
        perms = view.write_permissions.get(getattr(view, "action", None) or request.method.lower(), ())
        return request.user.has_perms(perms)


# --- Sync log ------------------------------------------------------------------------------


class SyncRecordSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(slug_field="code", read_only=True)
    channel = serializers.CharField(source="channel_code", read_only=True, help_text="Channel code.")
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = SyncRecord
        fields = [
            "id",
            "client",
            "sku",
            "channel_sku",
            "channel_product_id",
            "channel",
            "channel_name",
            "quantity",
            "status",
            "status_display",
            "error",
            "attempts",
            "reference",
            "created_at",
            "submitted_at",
            "finished_at",
            "force_pushed_at",
            "previous_error",
        ]
        read_only_fields = fields


class ForcePushSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=500, help_text="Record ids."
    )
    all_matching = StrictBooleanField(
        default=False, help_text="Every Error record matching the filters given alongside (client, channel, sku, …)."
    )
    client = serializers.CharField(required=False, allow_blank=True, help_text="Client code.")
    channel = serializers.CharField(required=False, allow_blank=True, help_text="Channel code.")
    sku = serializers.CharField(required=False, allow_blank=True)
    status = serializers.CharField(required=False, allow_blank=True)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs):
        if attrs.get("all_matching") == bool(attrs.get("ids")):
            raise ValidationError({"non_field_errors": ["Give either ids or all_matching: true (not both)."]})
        return attrs


class SyncRecordViewSet(viewsets.ReadOnlyModelViewSet):
    """The sync log: `view=normal` (In Process, Submitted; the default) or `view=archival` (Success, Error)."""

    serializer_class = SyncRecordSerializer
    lookup_value_regex = ID_PATTERN
    permission_classes = [ModelPermissions]
    read_permissions = ["channels.view_syncrecord"]
    write_permissions = {"force_push": ["channels.force_push_syncrecord"]}
    filterset_class = SyncRecordFilter

    def get_queryset(self):
        return sync_records_for(self.request.user).select_related("client")

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        view = self.request.query_params.get("view")
        if view not in (None, "", "normal", "archival"):
            raise ValidationError({"view": [f"Give normal or archival, not {view!r}."]})
        filterset = sync_log_filter(self.request.user, self.request.query_params, request=self.request)
        check_query_params(self.request, filterset)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return filterset.qs.select_related("client")

    @extend_schema(
        request=ForcePushSerializer,
        responses={
            200: inline_serializer("ForcePushResult", {"queued": serializers.IntegerField()}),
            403: OpenApiResponse(description="Not an admin (channels.force_push_syncrecord)."),
        },
        description="Force Push: move Error records back to In Process and queue them. Only Error records move; "
        "ids of records you cannot see are ignored; a repeat changes nothing more (queued: 0).",
    )
    @action(detail=False, methods=["post"], url_path="force-push", filterset_class=None, pagination_class=None)
    def force_push(self, request):
        if not request.user.has_perm("channels.force_push_syncrecord"):
            raise PermissionDenied("Force Push is for admins.")
        serializer = ForcePushSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["all_matching"]:
            params = QueryDict(mutable=True)
            for key in FILTER_PARAMS:
                if data.get(key) not in (None, ""):
                    params[key] = str(data[key])
            params["view"] = "archival"
            filterset = sync_log_filter(request.user, params, request=request)
            if not filterset.is_valid():
                raise ValidationError(filterset.errors)
            target = filterset.matching_errors()
        else:
            target = data["ids"]
        queued = force_push(records_qs_or_ids=target, user=request.user)
        return Response({"queued": queued}, status=status.HTTP_200_OK)


# --- Channels ------------------------------------------------------------------------------


class ChannelSerializer(serializers.ModelSerializer):
    """No endpoint secrets: credentials never leave the server."""

    client = serializers.SlugRelatedField(slug_field="code", read_only=True)
    warehouses = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = Channel
        fields = ["id", "client", "name", "code", "kind", "warehouses", "buffer_stock", "percentage", "maximum"]
        fields += ["is_active"]
        read_only_fields = fields


class ChannelViewSet(ClientScopedMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ChannelSerializer
    lookup_value_regex = ID_PATTERN
    permission_classes = [ModelPermissions]
    read_permissions = ["channels.view_channel"]
    queryset = Channel.objects.select_related("client").prefetch_related("warehouses").order_by("name", "id")
    filterset_fields = ["code", "kind", "is_active"]


# --- Mappings ------------------------------------------------------------------------------


class SkuMappingSerializer(serializers.ModelSerializer):
    serializer_field_mapping = STRICT_FIELD_MAPPING
    client = serializers.SlugRelatedField(slug_field="code", read_only=True)
    channel = serializers.PrimaryKeyRelatedField(queryset=Channel.objects.none(), help_text="Channel id.")
    channel_code = serializers.CharField(source="channel.code", read_only=True)
    sku = StrictCharField(source="part.sku", max_length=100, help_text="The part's SKU (of the channel's client).")

    class Meta:
        model = SkuMapping
        fields = [
            "id",
            "client",
            "channel",
            "channel_code",
            "sku",
            "channel_sku",
            "channel_product_id",
            "is_active",
            "buffer_override",
            "back_order_quantity",
            "last_pushed_quantity",
            "last_pushed_at",
        ]
        read_only_fields = ["id", "client", "channel_code", "last_pushed_quantity", "last_pushed_at"]
        validators = []  # uniqueness is checked by the service with a readable message (409)

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["channel"].queryset = Channel.objects.for_user(request.user)
        return fields

    def validate(self, attrs):
        if self.instance is not None and "channel" in attrs and attrs["channel"] != self.instance.channel:
            raise ValidationError({"channel": ["A mapping's channel cannot change: deactivate it and add another."]})
        channel = attrs.get("channel") or getattr(self.instance, "channel", None)
        sku = (attrs.pop("part", None) or {}).get("sku")
        if sku is not None:
            part = Part.objects.filter(client_id=channel.client_id, sku=sku).first()
            if part is None:
                raise ValidationError({"sku": [f"No part with SKU {sku} for this channel's client."]})
            attrs["part_obj"] = part
        return attrs

    def create(self, validated_data):
        channel, part = validated_data.pop("channel"), validated_data.pop("part_obj")
        try:
            return create_mapping(channel=channel, part=part, **validated_data)
        except MappingConflict as exc:
            raise Conflict(str(exc)) from exc

    def update(self, instance, validated_data):
        validated_data.pop("channel", None)
        part = validated_data.pop("part_obj", None)
        try:
            return update_mapping(mapping=instance, part=part, **validated_data)
        except MappingConflict as exc:
            raise Conflict(str(exc)) from exc


class SkuMappingViewSet(ClientScopedMixin, viewsets.ModelViewSet):
    """SKU mappings. DELETE deactivates (the mapping's sync history stays linked to it)."""

    serializer_class = SkuMappingSerializer
    lookup_value_regex = ID_PATTERN
    permission_classes = [ModelPermissions]
    read_permissions = ["channels.view_skumapping"]
    write_permissions = {
        "create": ["channels.add_skumapping"],
        "update": ["channels.change_skumapping"],
        "partial_update": ["channels.change_skumapping"],
        "destroy": ["channels.change_skumapping"],
    }
    queryset = SkuMapping.objects.select_related("client", "channel", "part").order_by("channel_id", "channel_sku")
    filterset_fields = ["channel", "is_active", "channel_sku"]

    @extend_schema(responses={204: OpenApiResponse(description="Deactivated.")})
    def destroy(self, request, *args, **kwargs):
        deactivate_mapping(mapping=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Open orders ---------------------------------------------------------------------------


class OpenOrderSerializer(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code", max_length=32, help_text="Channel code.")
    client = serializers.CharField(
        source="channel.client.code",
        required=False,
        max_length=32,
        help_text="Client code; needed only when several of your clients have a channel with this code.",
    )
    quantity = serializers.IntegerField(min_value=0, max_value=2_147_483_647)

    class Meta:
        model = OpenOrder
        fields = ["id", "client", "channel", "channel_sku", "quantity", "updated_at"]
        read_only_fields = ["id", "updated_at"]
        validators = []

    def validate(self, attrs):
        channel_data = attrs.pop("channel")
        channels = Channel.objects.for_user(self.context["request"].user).filter(code=channel_data["code"])
        client_code = (channel_data.get("client") or {}).get("code")
        if client_code:
            channels = channels.filter(client__code=client_code)
        found = list(channels[:2])
        if not found:
            raise ValidationError({"channel": [f"No channel {channel_data['code']}."]})
        if len(found) > 1:
            raise ValidationError({"client": ["Several of your clients have a channel with this code; give client."]})
        attrs["channel_obj"] = found[0]
        return attrs


class OpenOrderViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Open marketplace orders per channel SKU. POST (or PUT) sets the quantity: an upsert, 0 clears it."""

    serializer_class = OpenOrderSerializer
    permission_classes = [ModelPermissions]
    read_permissions = ["channels.view_channel"]
    write_permissions = {"create": ["channels.set_open_orders"]}
    queryset = OpenOrder.objects.select_related("channel", "channel__client").order_by("channel_id", "channel_sku")

    def get_queryset(self):
        return scope_to_user(super().get_queryset(), self.request.user, client_field="channel__client")

    @extend_schema(responses={200: OpenOrderSerializer, 201: OpenOrderSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order, created = set_open_orders_service(
            channel=data["channel_obj"], channel_sku=data["channel_sku"], quantity=data["quantity"]
        )
        return Response(
            self.get_serializer(order).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
