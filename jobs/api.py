"""Jobs API: list/create/update plus release, cancel, advance and reserve-now. Thin: validate, call a service."""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from core.api import ID_PATTERN, ClientScopedMixin, StrictBooleanField, is_unhandled_method
from core.scoping import clients_for
from inventory.errors import InsufficientStock, StockError
from inventory.models import Location, Part, Warehouse
from jobs import production, services
from jobs.errors import IllegalTransition, JobError, LocationRequired
from jobs.filters import JobFilter
from jobs.models import Job, JobLine

ACTION_PERMISSIONS = {
    "list": "jobs.view_job",
    "retrieve": "jobs.view_job",
    "create": "jobs.add_job",
    "update": "jobs.change_job",
    "partial_update": "jobs.change_job",
    "release": "jobs.release_job",
    "cancel": "jobs.cancel_job",
    "advance": "jobs.advance_job",
    "reserve_now": "jobs.change_job",
}


class JobPermission(permissions.BasePermission):
    def has_permission(self, request, view):
        if request.user and request.user.is_authenticated and is_unhandled_method(request, view):
            return True
        codename = ACTION_PERMISSIONS.get(view.action)
        return bool(request.user and request.user.is_authenticated and codename and request.user.has_perm(codename))


class ShortageSerializer(serializers.Serializer):
    sku = serializers.CharField()
    warehouse = serializers.CharField()
    requested = serializers.IntegerField()
    available = serializers.IntegerField()


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    shortages = ShortageSerializer(many=True, required=False)


class JobLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="part.sku")
    warehouse = serializers.CharField(source="warehouse.code")

    class Meta:
        model = JobLine
        fields = ["id", "part", "sku", "warehouse", "quantity", "reserved", "allocated", "consumed"]


class OrderPushSerializer(serializers.Serializer):
    order_number = serializers.CharField()
    status = serializers.CharField()
    order_status = serializers.CharField()
    last_error = serializers.CharField()


class JobSerializer(serializers.ModelSerializer):
    client = serializers.CharField(source="client.code")
    stage = serializers.CharField(source="stage.name", allow_null=True, default=None)
    lines = JobLineSerializer(many=True)
    shortfall = serializers.SerializerMethodField()
    output_part = serializers.CharField(source="output_part.sku", allow_null=True, default=None)
    output_warehouse = serializers.CharField(source="output_warehouse.code", allow_null=True, default=None)
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    order_push = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "number",
            "client",
            "title",
            "state",
            "stage",
            "shortfall",
            "lines",
            "output_part",
            "output_warehouse",
            "batch_size",
            "created_by",
            "created_at",
            "updated_at",
            "released_at",
            "done_at",
            "cancelled_at",
            "order_push",
        ]

    def get_shortfall(self, job) -> int:
        return sum(line.allocated for line in job.lines.all())

    @extend_schema_field(OrderPushSerializer(allow_null=True))
    def get_order_push(self, job):
        push = getattr(job, "order_push", None)
        return OrderPushSerializer(push).data if push else None


class LineInputSerializer(serializers.Serializer):
    part = serializers.IntegerField(required=False, help_text="Part id (or give `sku`).")
    sku = serializers.CharField(required=False)
    warehouse = serializers.CharField(help_text="Warehouse code.")
    quantity = serializers.IntegerField(min_value=1, help_text="The sheet count.")

    def validate(self, attrs):
        if not attrs.get("part") and not attrs.get("sku"):
            raise serializers.ValidationError("Give the part id or its SKU.")
        return attrs


class OutputInputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    warehouse = serializers.CharField()
    batch_size = serializers.IntegerField(min_value=1)


class JobWriteSerializer(serializers.Serializer):
    client = serializers.CharField(required=False, help_text="Client code; optional for users of one client.")
    title = serializers.CharField(max_length=200)
    lines = LineInputSerializer(many=True, allow_empty=False)
    output = OutputInputSerializer(required=False, allow_null=True)
    allow_shortfall = StrictBooleanField(default=False)

    def to_specs(self, *, user, job=None):
        """Resolve codes and SKUs within the user's clients; unknown ones are 400 field errors."""
        data = self.validated_data
        clients = clients_for(user)
        if job is not None:
            client = job.client
        elif data.get("client"):
            client = clients.filter(code=data["client"]).first()
            if client is None:
                raise serializers.ValidationError({"client": [f"Unknown client {data['client']}."]})
        else:
            client = clients.first() if clients.count() == 1 else None
            if client is None:
                raise serializers.ValidationError({"client": ["Give the client code."]})
        warehouses = {w.code: w for w in Warehouse.objects.filter(is_active=True)}
        part_ids = {line["part"] for line in data["lines"] if line.get("part")}
        skus = {line["sku"] for line in data["lines"] if line.get("sku")}
        if data.get("output"):
            skus.add(data["output"]["sku"])
        parts = list(Part.objects.filter(client=client, id__in=part_ids)) + list(
            Part.objects.filter(client=client, sku__in=skus)
        )
        by_id, by_sku = {p.id: p for p in parts}, {p.sku: p for p in parts}
        errors, specs = [], []
        for line in data["lines"]:
            part = by_id.get(line["part"]) if line.get("part") else by_sku.get(line["sku"])
            warehouse = warehouses.get(line["warehouse"])
            line_errors = {}
            if part is None:
                line_errors["part"] = [f"Unknown part {line.get('part') or line.get('sku')} for {client.code}."]
            if warehouse is None:
                line_errors["warehouse"] = [f"Unknown warehouse {line['warehouse']}."]
            errors.append(line_errors)
            if not line_errors:
                specs.append(services.LineSpec(part=part, warehouse=warehouse, quantity=line["quantity"]))
        output = None
        if data.get("output"):
            part, warehouse = by_sku.get(data["output"]["sku"]), warehouses.get(data["output"]["warehouse"])
            if part is None or warehouse is None:
                raise serializers.ValidationError({"output": ["Unknown output part or warehouse."]})
            output = services.OutputSpec(part=part, warehouse=warehouse, batch_size=data["output"]["batch_size"])
        if any(errors):
            raise serializers.ValidationError({"lines": errors})
        return client, specs, output


class AdvanceSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=["forward", "back"], default="forward")
    location = serializers.IntegerField(required=False, allow_null=True, help_text="Location id, for Done (local).")


def conflict_payload(exc) -> dict:
    """409 body: the message, a code, and for a shortage every short line with its Available (numbers stay numbers)."""
    if isinstance(exc, InsufficientStock):
        return {
            "detail": str(exc),
            "code": "insufficient_stock",
            "shortages": [
                {"sku": s.sku, "warehouse": s.warehouse_code, "requested": s.requested, "available": s.available}
                for s in exc.shortages
            ],
        }
    return {"detail": str(exc), "code": "illegal_transition" if isinstance(exc, IllegalTransition) else "conflict"}


CONFLICT = OpenApiResponse(
    ConflictSerializer, description="Insufficient stock (every short line) or illegal transition."
)


@extend_schema(responses={200: JobSerializer})
class JobViewSet(
    ClientScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Jobs of the user's clients. Saving reserves stock; a shortfall answers 409 naming every short line."""

    queryset = Job.objects.select_related(
        "client", "stage", "output_part", "output_warehouse", "created_by", "order_push"
    ).prefetch_related(Prefetch("lines", queryset=JobLine.objects.select_related("part", "warehouse").order_by("id")))
    serializer_class = JobSerializer
    lookup_value_regex = ID_PATTERN
    permission_classes = [JobPermission]
    filterset_class = JobFilter

    def get_queryset(self):
        return super().get_queryset().order_by("-created_at", "-id")

    def handle_exception(self, exc):
        if isinstance(exc, LocationRequired):
            return Response({"location": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        if isinstance(exc, StockError | JobError):
            return Response(conflict_payload(exc), status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)

    def _save(self, request, job=None):
        serializer = JobWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        client, specs, output = serializer.to_specs(user=request.user, job=job)
        allow_shortfall = serializer.validated_data["allow_shortfall"]
        if allow_shortfall and not request.user.has_perm("jobs.save_with_shortfall_job"):
            raise PermissionDenied("Saving with a shortfall needs the save_with_shortfall_job permission.")
        saved = services.save_job(
            client=client,
            user=request.user,
            title=serializer.validated_data["title"],
            lines=specs,
            output=output,
            allow_shortfall=allow_shortfall,
            job=job,
        )
        return self.get_queryset().get(pk=saved.pk)

    @extend_schema(request=JobWriteSerializer, responses={201: JobSerializer, 409: CONFLICT})
    def create(self, request):
        job = self._save(request)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=JobWriteSerializer, responses={200: JobSerializer, 409: CONFLICT})
    def update(self, request, pk=None):
        job = self._save(request, job=self.get_object())
        return Response(JobSerializer(job).data)

    def _run(self, service, **kwargs):
        job = self.get_object()
        service(job=job, user=self.request.user, **kwargs)
        return Response(JobSerializer(self.get_queryset().get(pk=job.pk)).data)

    @extend_schema(request=None, responses={200: JobSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        return self._run(production.release_job)

    @extend_schema(request=None, responses={200: JobSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._run(services.cancel_job)

    @extend_schema(request=None, responses={200: JobSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], url_path="reserve-now")
    def reserve_now(self, request, pk=None):
        return self._run(services.reserve_now)

    @extend_schema(request=AdvanceSerializer, responses={200: JobSerializer, 400: OpenApiResponse(), 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        serializer = AdvanceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = self.get_object()
        location = None
        if serializer.validated_data.get("location"):
            location = Location.objects.filter(
                pk=serializer.validated_data["location"], warehouse_id=job.output_warehouse_id
            ).first()
            if location is None:
                raise serializers.ValidationError({"location": ["Not a location of the output warehouse."]})
        direction = 1 if serializer.validated_data["direction"] == "forward" else -1
        return self._run(production.advance_job, direction=direction, location=location)
