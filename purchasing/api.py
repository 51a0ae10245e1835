"""Purchasing API: suppliers and purchase orders with order/receive/cancel. Thin: validate, call a service."""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import ID_PATTERN, STRICT_FIELD_MAPPING, ClientScopedMixin, is_unhandled_method
from core.scoping import clients_for
from inventory.errors import StockError
from inventory.models import Location, Part, Warehouse
from purchasing import services
from purchasing.errors import IllegalTransition, PurchasingError
from purchasing.filters import PurchaseOrderFilter
from purchasing.models import PurchaseOrder, PurchaseOrderLine, Supplier

PO_PERMISSIONS = {
    "list": "purchasing.view_purchaseorder",
    "retrieve": "purchasing.view_purchaseorder",
    "create": "purchasing.add_purchaseorder",
    "update": "purchasing.change_purchaseorder",
    "partial_update": "purchasing.change_purchaseorder",
    "order": "purchasing.change_purchaseorder",
    "cancel": "purchasing.change_purchaseorder",
    "receive": "purchasing.receive_purchaseorder",
}
SUPPLIER_PERMISSIONS = {
    "list": "purchasing.view_supplier",
    "retrieve": "purchasing.view_supplier",
    "create": "purchasing.add_supplier",
    "update": "purchasing.change_supplier",
    "partial_update": "purchasing.change_supplier",
}


class _ActionPermission(permissions.BasePermission):
    table: dict[str, str] = {}

    def has_permission(self, request, view):
        if request.user and request.user.is_authenticated and is_unhandled_method(request, view):
            return True
        codename = self.table.get(view.action)
        return bool(request.user and request.user.is_authenticated and codename and request.user.has_perm(codename))


class PurchaseOrderPermission(_ActionPermission):
    table = PO_PERMISSIONS


class SupplierPermission(_ActionPermission):
    table = SUPPLIER_PERMISSIONS


class PurchasingConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


CONFLICT = OpenApiResponse(PurchasingConflictSerializer, description="Illegal transition or over-receipt.")


def _client(user, code: str | None):
    clients = clients_for(user)
    if code:
        client = clients.filter(code=code).first()
        if client is None:
            raise serializers.ValidationError({"client": [f"Unknown client {code}."]})
        return client
    if clients.count() == 1:
        return clients.first()
    raise serializers.ValidationError({"client": ["Give the client code."]})


# --- suppliers ------------------------------------------------------------------------------------------------


class SupplierSerializer(serializers.ModelSerializer):
    serializer_field_mapping = STRICT_FIELD_MAPPING
    client = serializers.CharField(source="client.code", required=False)

    class Meta:
        model = Supplier
        fields = ["id", "client", "name", "code", "email", "lead_time_days", "is_active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []


class SupplierViewSet(
    ClientScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Suppliers of the user's clients."""

    queryset = Supplier.objects.select_related("client").order_by("name", "id")
    serializer_class = SupplierSerializer
    lookup_value_regex = ID_PATTERN
    permission_classes = [SupplierPermission]
    filterset_fields = ["is_active", "code"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        client = _client(self.request.user, data.get("client", {}).get("code"))
        serializer.instance = services.save_supplier(client=client, **{k: v for k, v in data.items() if k != "client"})

    def perform_update(self, serializer):
        supplier = serializer.instance
        data = {
            field: serializer.validated_data.get(field, getattr(supplier, field))
            for field in ("name", "code", "email", "lead_time_days", "is_active")
        }
        serializer.instance = services.save_supplier(client=supplier.client, supplier=supplier, **data)


# --- purchase orders ------------------------------------------------------------------------------------------


class PurchaseOrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="part.sku")
    outstanding = serializers.IntegerField()

    class Meta:
        model = PurchaseOrderLine
        fields = ["id", "part", "sku", "quantity", "unit_cost", "expected_date", "received_quantity", "outstanding"]


class PushSerializer(serializers.Serializer):
    order_number = serializers.CharField()
    status = serializers.CharField()
    allocadence_order_id = serializers.IntegerField(allow_null=True)
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)


class PurchaseOrderSerializer(serializers.ModelSerializer):
    client = serializers.CharField(source="client.code")
    supplier = serializers.CharField(source="supplier.code")
    warehouse = serializers.CharField(source="warehouse.code")
    lines = PurchaseOrderLineSerializer(many=True)
    push = serializers.SerializerMethodField()

    class Meta:
        model = PurchaseOrder
        fields = [
            "id",
            "number",
            "client",
            "supplier",
            "warehouse",
            "state",
            "expected_date",
            "notes",
            "lines",
            "push",
            "created_at",
            "ordered_at",
            "received_at",
            "cancelled_at",
        ]

    def get_push(self, po) -> dict | None:
        push = getattr(po, "push", None)
        return PushSerializer(push).data if push else None


class PurchaseOrderLineInputSerializer(serializers.Serializer):
    part = serializers.IntegerField(required=False, help_text="Part id (or give `sku`).")
    sku = serializers.CharField(required=False)
    quantity = serializers.IntegerField(min_value=1)
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0, default=0)
    expected_date = serializers.DateField(required=False, allow_null=True)

    def validate(self, attrs):
        if not attrs.get("part") and not attrs.get("sku"):
            raise serializers.ValidationError("Give the part id or its SKU.")
        return attrs


class PurchaseOrderWriteSerializer(serializers.Serializer):
    client = serializers.CharField(required=False, help_text="Client code; optional for users of one client.")
    supplier = serializers.CharField(help_text="Supplier code.")
    warehouse = serializers.CharField(help_text="Warehouse code.")
    expected_date = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    lines = PurchaseOrderLineInputSerializer(many=True, allow_empty=False)

    def to_call(self, *, user, po=None) -> dict:
        data = self.validated_data
        client = po.client if po is not None else _client(user, data.get("client"))
        errors = {}
        supplier = Supplier.objects.filter(client=client, code=data["supplier"]).first()
        if supplier is None:
            errors["supplier"] = [f"Unknown supplier {data['supplier']} for {client.code}."]
        warehouse = Warehouse.objects.filter(code=data["warehouse"]).first()
        if warehouse is None:
            errors["warehouse"] = [f"Unknown warehouse {data['warehouse']}."]
        ids = {line["part"] for line in data["lines"] if line.get("part")}
        skus = {line["sku"] for line in data["lines"] if line.get("sku")}
        parts = list(Part.objects.filter(client=client, id__in=ids)) + list(
            Part.objects.filter(client=client, sku__in=skus)
        )
        by_id, by_sku = {p.id: p for p in parts}, {p.sku: p for p in parts}
        line_errors, specs = [], []
        for line in data["lines"]:
            part = by_id.get(line["part"]) if line.get("part") else by_sku.get(line["sku"])
            line_errors.append({} if part else {"part": [f"Unknown part {line.get('part') or line.get('sku')}."]})
            if part:
                specs.append(
                    services.LineSpec(
                        part=part,
                        quantity=line["quantity"],
                        unit_cost=line["unit_cost"],
                        expected_date=line.get("expected_date"),
                    )
                )
        if any(line_errors):
            errors["lines"] = line_errors
        if errors:
            raise serializers.ValidationError(errors)
        return {
            "client": client,
            "supplier": supplier,
            "warehouse": warehouse,
            "lines": specs,
            "expected_date": data.get("expected_date"),
            "notes": data.get("notes") or "",
        }


class ReceiveSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Purchase order line id.")
    quantity = serializers.IntegerField(min_value=1)
    location = serializers.IntegerField(help_text="Location id in the purchase order's warehouse.")


@extend_schema(responses={200: PurchaseOrderSerializer})
class PurchaseOrderViewSet(
    ClientScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Purchase orders of the user's clients. Illegal transitions and over-receipts answer 409."""

    queryset = PurchaseOrder.objects.select_related("client", "supplier", "warehouse", "push").prefetch_related(
        Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("part").order_by("id"))
    )
    serializer_class = PurchaseOrderSerializer
    lookup_value_regex = ID_PATTERN
    permission_classes = [PurchaseOrderPermission]
    filterset_class = PurchaseOrderFilter

    def get_queryset(self):
        return super().get_queryset().order_by("-created_at", "-id")

    def handle_exception(self, exc):
        if isinstance(exc, PurchasingError | StockError):
            code = "illegal_transition" if isinstance(exc, IllegalTransition) else "conflict"
            return Response({"detail": str(exc), "code": code}, status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)

    def _save(self, request, po=None):
        serializer = PurchaseOrderWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved = services.save_purchase_order(user=request.user, po=po, **serializer.to_call(user=request.user, po=po))
        return self.get_queryset().get(pk=saved.pk)

    @extend_schema(request=PurchaseOrderWriteSerializer, responses={201: PurchaseOrderSerializer, 409: CONFLICT})
    def create(self, request):
        return Response(PurchaseOrderSerializer(self._save(request)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PurchaseOrderWriteSerializer, responses={200: PurchaseOrderSerializer, 409: CONFLICT})
    def update(self, request, pk=None):
        return Response(PurchaseOrderSerializer(self._save(request, po=self.get_object())).data)

    def _done(self, po):
        return Response(PurchaseOrderSerializer(self.get_queryset().get(pk=po.pk)).data)

    @extend_schema(request=None, responses={200: PurchaseOrderSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def order(self, request, pk=None):
        return self._done(services.order_purchase_order(po=self.get_object(), user=request.user))

    @extend_schema(request=None, responses={200: PurchaseOrderSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._done(services.cancel_purchase_order(po=self.get_object(), user=request.user))

    @extend_schema(request=ReceiveSerializer, responses={200: PurchaseOrderSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        po = self.get_object()  # first: another client's purchase order is 404 whatever the body says
        serializer = ReceiveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        location = Location.objects.filter(pk=data["location"], warehouse_id=po.warehouse_id).first()
        if location is None:
            raise serializers.ValidationError({"location": [f"Not a location of {po.warehouse.code}."]})
        if not po.lines.filter(pk=data["line"]).exists():
            raise serializers.ValidationError({"line": [f"Line {data['line']} is not on {po.number}."]})
        receipt = services.Receipt(line_id=data["line"], quantity=data["quantity"], location=location)
        return self._done(services.receive_purchase_order(po=po, receipts=[receipt], user=request.user))
