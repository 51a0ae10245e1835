"""REST API of bills of materials: `/api/v1/parts/{id}/bom/` reads (with can build), replaces and removes a BOM."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from bom import selectors
from bom.errors import BomInvalid
from bom.models import BillOfMaterials
from bom.services import ComponentSpec, remove_bom, set_bom
from core.api import ClientScopedMixin
from inventory.api import ModelPermissions
from inventory.models import Part, Warehouse


class ComponentSerializer(serializers.Serializer):
    part = serializers.IntegerField(source="part_id")
    sku = serializers.CharField(source="part.sku")
    kind = serializers.CharField(source="part.kind")
    quantity = serializers.IntegerField()
    scrap_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    note = serializers.CharField()


class CanBuildSerializer(serializers.Serializer):
    warehouse = serializers.CharField(allow_null=True, help_text="Warehouse code; null: over all warehouses.")
    batches = serializers.IntegerField(help_text="Whole units the components' Available stock allows.")
    limiting_sku = serializers.CharField()
    limiting_available = serializers.IntegerField()


class BomSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    product_sku = serializers.CharField()
    components = ComponentSerializer(many=True)
    can_build = CanBuildSerializer(many=True, help_text="Per active warehouse, then over all warehouses (null).")


class ComponentWriteSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=100)
    quantity = serializers.IntegerField(min_value=1, max_value=2_147_483_647, help_text="Per unit of the product.")
    scrap_percent = serializers.DecimalField(
        max_digits=4, decimal_places=2, min_value=0, max_value=99.99, required=False, default=0
    )
    note = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")


class BomWriteSerializer(serializers.Serializer):
    components = ComponentWriteSerializer(many=True, max_length=1000)


PART_ID = OpenApiParameter("part_id", int, OpenApiParameter.PATH, description="The in-house part (product).")


@extend_schema(parameters=[PART_ID])
class PartBomView(ClientScopedMixin, generics.GenericAPIView):
    """The bill of materials of one part: components in order, and what the stock allows building."""

    queryset = Part.objects.select_related("client")
    lookup_url_kwarg = "part_id"
    permission_classes = [ModelPermissions]
    read_permissions = ["inventory.view_part", "bom.view_billofmaterials"]
    write_permissions = ["bom.change_billofmaterials"]
    serializer_class = BomSerializer

    def _body(self, part: Part) -> dict:
        bom = BillOfMaterials.objects.filter(product=part).first()
        components = list(bom.components.select_related("part").order_by("position", "id")) if bom else []
        codes = dict(Warehouse.objects.values_list("id", "code"))
        rows = []
        if components:
            per_warehouse = selectors.can_build_per_warehouse([part])
            for (_, warehouse_id), result in sorted(per_warehouse.items(), key=lambda item: codes[item[0][1]]):
                rows.append(self._can_build(codes[warehouse_id], result))
            total = selectors.can_build([part]).get(part.id)
            if total is not None:
                rows.append(self._can_build(None, total))
        return BomSerializer(
            {"product": part.id, "product_sku": part.sku, "components": components, "can_build": rows}
        ).data

    @staticmethod
    def _can_build(code, result) -> dict:
        return {
            "warehouse": code,
            "batches": result.batches,
            "limiting_sku": result.limiting_sku,
            "limiting_available": result.limiting_available,
        }

    @extend_schema(responses={200: BomSerializer})
    def get(self, request, part_id):
        return Response(self._body(self.get_object()))

    @extend_schema(request=BomWriteSerializer, responses={200: BomSerializer})
    def put(self, request, part_id):
        part = self.get_object()
        incoming = BomWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        specs = [
            ComponentSpec(c["sku"], c["quantity"], c["scrap_percent"], c["note"])
            for c in incoming.validated_data["components"]
        ]
        try:
            set_bom(product=part, components=specs, user=request.user)
        except BomInvalid as exc:
            problems = [{"line": p.line, "sku": p.sku, "code": p.code, "message": p.message} for p in exc.problems]
            return Response({"components": problems}, status=status.HTTP_400_BAD_REQUEST)
        return Response(self._body(part))

    @extend_schema(responses={204: None})
    def delete(self, request, part_id):
        remove_bom(product=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
