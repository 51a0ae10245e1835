"""REST API of inventory: thin views that validate, call a service and serialise."""

import django_filters
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from core.api import ID_PATTERN, ClientScopedMixin, Conflict, is_unhandled_method
from core.scoping import scope_to_user
from inventory import figures, services
from inventory.errors import InsufficientStock, ManualEditRefused, StockError
from inventory.filters import InventoryFilter, inventory_queryset
from inventory.models import Location, Movement, Part, StockType, Warehouse


class ModelPermissions(BasePermission):
    """Reads need the view's `read_permissions`, writes its `write_permissions` (Django model permissions)."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if is_unhandled_method(request, view):
            return True
        perms = getattr(view, "read_permissions", ()) if request.method in SAFE_METHODS else view.write_permissions
        return request.user.has_perms(perms)


# --- Serializers ------------------------------------------------------------------------


class WarehouseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Warehouse
        fields = ["id", "code", "name", "source", "allocadence_id", "is_active"]


class PartSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(slug_field="code", read_only=True)
    alternates = serializers.SlugRelatedField(slug_field="sku", many=True, read_only=True)
    thumbnail = serializers.ImageField(read_only=True, use_url=True)

    class Meta:
        model = Part
        fields = [
            "id",
            "client",
            "sku",
            "description",
            "kind",
            "low_stock_threshold",
            "is_active",
            "alternates",
            "thumbnail",
        ]


class InventorySerializer(serializers.Serializer):
    """One part at one warehouse (or over all warehouses: `warehouse` null), every figure of SPEC §2."""

    sku = serializers.CharField(source="part.sku")
    description = serializers.CharField(source="part.description")
    warehouse = serializers.SerializerMethodField()

    def get_fields(self):
        """The part's fields, then every figure of the registry (inventory.figures), in its order."""
        fields = super().get_fields()
        for figure in figures.all_figures():
            fields[figure.key] = serializers.IntegerField(
                read_only=True, allow_null=figure.nullable, help_text=figure.help_text
            )
        return fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_warehouse(self, level):
        return level.warehouse.code if level.warehouse_id else None


class MovementSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="part.sku", read_only=True)
    warehouse = serializers.CharField(source="warehouse.code", read_only=True)
    location = serializers.CharField(source="location.code", read_only=True)
    type = serializers.CharField(read_only=True, help_text="Stock type: available, reserved, obsolete, …")

    class Meta:
        model = Movement
        fields = ["id", "created_at", "sku", "warehouse", "location", "type", "delta", "reason"]


class _PartRefSerializer(serializers.Serializer):
    """Identifies a part by id, or by SKU (plus client code when the user's clients share that SKU)."""

    part = serializers.IntegerField(required=False, help_text="Part id.")
    sku = serializers.CharField(required=False, max_length=100)
    client = serializers.CharField(required=False, max_length=32, help_text="Client code, to tell equal SKUs apart.")
    type = serializers.ChoiceField(
        choices=[StockType.AVAILABLE.value, StockType.OBSOLETE.value], default=StockType.AVAILABLE.value
    )
    reason = serializers.CharField(max_length=300)

    def _resolve_part(self, attrs) -> Part:
        user = self.context["request"].user
        parts = scope_to_user(Part.objects.all(), user)
        if attrs.get("part") is not None:
            part = parts.filter(pk=attrs["part"]).first()
            if part is None:
                raise ValidationError({"part": ["No such part."]})
            return part
        if not attrs.get("sku"):
            raise ValidationError({"part": ["Give the part id or its SKU."]})
        matches = parts.filter(sku=attrs["sku"])
        if attrs.get("client"):
            matches = matches.filter(client__code=attrs["client"])
        found = list(matches[:2])
        if not found:
            raise ValidationError({"sku": [f"No part with SKU {attrs['sku']}."]})
        if len(found) > 1:
            raise ValidationError({"client": ["Several of your clients have this SKU; give the client code."]})
        return found[0]

    @staticmethod
    def _resolve_location(warehouse_code: str, location_code: str | None, field: str) -> Location:
        warehouse = Warehouse.objects.filter(code=warehouse_code).first()
        if warehouse is None:
            raise ValidationError({field: [f"No warehouse {warehouse_code}."]})
        if not location_code:
            return services.default_location(warehouse)
        location = Location.objects.filter(warehouse=warehouse, code=location_code).select_related("warehouse").first()
        if location is None:
            raise ValidationError({field: [f"No location {location_code} in warehouse {warehouse_code}."]})
        return location


class AdjustmentSerializer(_PartRefSerializer):
    warehouse = serializers.CharField(max_length=32, help_text="Warehouse code (a local warehouse).")
    location = serializers.CharField(
        max_length=64, required=False, help_text="Location code; the warehouse's default location when omitted."
    )
    delta = serializers.IntegerField(help_text="Units to add (positive) or take away (negative).")

    def validate_delta(self, value):
        if value == 0:
            raise ValidationError("The adjustment must not be zero.")
        return value

    def validate(self, attrs):
        attrs["part_obj"] = self._resolve_part(attrs)
        attrs["location_obj"] = self._resolve_location(attrs["warehouse"], attrs.get("location"), "location")
        return attrs


class MoveSerializer(_PartRefSerializer):
    from_warehouse = serializers.CharField(max_length=32)
    from_location = serializers.CharField(max_length=64, required=False)
    to_warehouse = serializers.CharField(max_length=32)
    to_location = serializers.CharField(max_length=64, required=False)
    quantity = serializers.IntegerField(min_value=1)

    def validate(self, attrs):
        attrs["part_obj"] = self._resolve_part(attrs)
        attrs["from_obj"] = self._resolve_location(attrs["from_warehouse"], attrs.get("from_location"), "from_location")
        attrs["to_obj"] = self._resolve_location(attrs["to_warehouse"], attrs.get("to_location"), "to_location")
        if attrs["from_obj"].id == attrs["to_obj"].id:
            raise ValidationError({"to_location": ["Choose a different location to move to."]})
        return attrs


ConflictSerializer = inline_serializer(
    name="StockConflict",
    fields={
        "detail": serializers.CharField(),
        "shortages": serializers.ListField(child=serializers.DictField(), required=False),
        "warehouse": serializers.CharField(required=False),
    },
)
MovementsSerializer = inline_serializer(
    name="StockOperationResult", fields={"movements": MovementSerializer(many=True)}
)


def _conflict_response(exc: StockError) -> Response:
    """409 with every problem; built here (not as core.api.Conflict) so numbers stay numbers."""
    detail: dict = {"detail": str(exc)}
    if isinstance(exc, InsufficientStock):
        detail["shortages"] = [
            {
                "part": s.part_id,
                "sku": s.sku,
                "warehouse": s.warehouse_code,
                "requested": s.requested,
                "available": s.available,
                "label": s.label,
            }
            for s in exc.shortages
        ]
    elif isinstance(exc, ManualEditRefused):
        detail["warehouse"] = exc.warehouse_code
    return Response(detail, status=Conflict.status_code)


def _movements_response(movements) -> Response:
    ids = [m.pk for m in movements if m.pk]
    if ids:
        rows = Movement.objects.filter(pk__in=ids).select_related("part", "warehouse", "location").order_by("id")
    else:  # some databases do not return ids from bulk_create
        rows = movements
    return Response({"movements": MovementSerializer(rows, many=True).data}, status=status.HTTP_201_CREATED)


# --- Views ------------------------------------------------------------------------------


class WarehouseViewSet(viewsets.ReadOnlyModelViewSet):
    """Warehouses: local ones are managed here, Allocadence ones mirror Allocadence."""

    queryset = Warehouse.objects.all().order_by("code")
    serializer_class = WarehouseSerializer
    lookup_value_regex = ID_PATTERN
    permission_classes = [ModelPermissions]
    read_permissions = ["inventory.view_warehouse"]
    filterset_fields = ["code", "source", "is_active"]


class PartFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="sku", lookup_expr="iexact")
    client = django_filters.CharFilter(field_name="client__code")
    q = django_filters.CharFilter(method="filter_q", label="Search SKU or description")

    class Meta:
        model = Part
        fields = ["sku", "client", "kind", "is_active"]

    def filter_q(self, queryset, name, value: str):
        return queryset.search(value)


class PartViewSet(ClientScopedMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Part.objects.select_related("client").prefetch_related("alternates").order_by("sku", "id")
    serializer_class = PartSerializer
    lookup_value_regex = ID_PATTERN
    permission_classes = [ModelPermissions]
    read_permissions = ["inventory.view_part"]
    filterset_class = PartFilter


@extend_schema(
    description="Figures per part at one warehouse (`warehouse=CODE`), or per part over all warehouses "
    "(no `warehouse`: the `warehouse` field is null).",
)
class InventoryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = InventorySerializer
    permission_classes = [ModelPermissions]
    read_permissions = ["inventory.view_part", "inventory.view_inventoryrow"]
    filterset_class = InventoryFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return inventory_queryset(self.request.user, None).none()
        code = (self.request.query_params.get("warehouse") or "").strip()
        warehouse = None
        if code:
            warehouse = Warehouse.objects.filter(code=code).first()
            if warehouse is None:
                raise ValidationError({"warehouse": [f"No warehouse {code}."]})
        return inventory_queryset(self.request.user, warehouse)


class _StockOperationViewSet(viewsets.GenericViewSet):
    permission_classes = [ModelPermissions]
    write_permissions = ["inventory.adjust_stock"]

    def _run(self, request, operation):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                movements = operation(serializer.validated_data)
        except StockError as exc:
            return _conflict_response(exc)
        return _movements_response(movements)


class AdjustmentViewSet(_StockOperationViewSet):
    serializer_class = AdjustmentSerializer

    @extend_schema(
        request=AdjustmentSerializer,
        responses={201: MovementsSerializer, 400: OpenApiTypes.OBJECT, 409: ConflictSerializer},
        description="Add or take away Available or Obsolete units at a local warehouse (a reason is required).",
    )
    def create(self, request):
        return self._run(
            request,
            lambda data: services.adjust_stock(
                part=data["part_obj"],
                location=data["location_obj"],
                type=data["type"],
                delta=data["delta"],
                reason=data["reason"],
                user=request.user,
            ),
        )


class MoveViewSet(_StockOperationViewSet):
    serializer_class = MoveSerializer

    @extend_schema(
        request=MoveSerializer,
        responses={201: MovementsSerializer, 400: OpenApiTypes.OBJECT, 409: ConflictSerializer},
        description="Move Available or Obsolete units between locations or local warehouses.",
    )
    def create(self, request):
        return self._run(
            request,
            lambda data: services.move_stock(
                part=data["part_obj"],
                from_location=data["from_obj"],
                to_location=data["to_obj"],
                type=data["type"],
                quantity=data["quantity"],
                reason=data["reason"],
                user=request.user,
            ),
        )
