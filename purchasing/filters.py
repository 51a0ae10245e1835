import django_filters
from django.db.models import Exists, OuterRef, Q

from core.scoping import clients_for
from inventory.models import Warehouse
from purchasing.models import PurchaseOrder, PurchaseOrderLine, Supplier


def _clients(request):
    return clients_for(request.user) if request is not None else PurchaseOrder.objects.none()


def _suppliers(request):
    return Supplier.objects.for_user(request.user) if request is not None else Supplier.objects.none()


class PurchaseOrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    state = django_filters.ChoiceFilter(choices=PurchaseOrder.State.choices, empty_label="Any state")
    supplier = django_filters.ModelChoiceFilter(queryset=_suppliers, empty_label="Any supplier")
    warehouse = django_filters.ModelChoiceFilter(queryset=Warehouse.objects.all(), empty_label="Any warehouse")
    client = django_filters.ModelChoiceFilter(queryset=_clients, empty_label="Any client")

    class Meta:
        model = PurchaseOrder
        fields = ["q", "state", "supplier", "warehouse", "client"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        on_lines = PurchaseOrderLine.objects.filter(po=OuterRef("pk"), part__sku__icontains=value)
        return queryset.filter(
            Q(number__icontains=value)
            | Q(supplier__name__icontains=value)
            | Q(notes__icontains=value)
            | Exists(on_lines)
        )
