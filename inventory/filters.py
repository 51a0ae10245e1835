"""Filters of the inventory list, shared by the page, the export and the API."""

import django_filters
from django import forms
from django.db.models import F, Q
from django.utils.functional import cached_property

from core.models import Client
from core.scoping import clients_for, scope_to_user
from inventory.models import FIGURE_COLUMNS, Part, StockLevel, Warehouse

# Sort keys the URL may carry, and the columns they order by. Anything else is ignored.
SORT_FIELDS = {
    "sku": "part__sku",
    "description": "part__description",
    "warehouse": "warehouse__code",
    "in_stock": "in_stock",
    "available": "available",
    "reserved": "reserved",
    "on_order": "on_order",
    "allocated": "allocated",
    "planned": "planned",
    "ordered": "ordered",
    "in_production": "in_production",
    "obsolete": "obsolete",
    "on_hand": "on_hand",
    "stock": "stock",
    "stock_balance": "stock_balance",
}
DEFAULT_SORT = ("part__sku", "part_id")
# Sort keys that are figures computed by `with_figures()` rather than stored columns.
COMPUTED_SORTS = {"in_stock", "on_order", "on_hand", "stock", "stock_balance"}


def sort_choices():
    return [(key, key) for key in SORT_FIELDS] + [(f"-{key}", f"-{key}") for key in SORT_FIELDS]


def apply_sort(queryset, sort: str | None):
    key = (sort or "").lstrip("-")
    if key not in SORT_FIELDS:
        return queryset.order_by(*DEFAULT_SORT)
    descending = sort.startswith("-")
    if key == "stock_balance":
        return queryset.order_by_stock_balance(*DEFAULT_SORT, descending=descending)
    if key in COMPUTED_SORTS:
        queryset = queryset.with_figures()
    column = SORT_FIELDS[key]
    ordering = F(column).desc() if descending else F(column).asc()
    return queryset.order_by(ordering, *DEFAULT_SORT)


def _clients(request):
    if request is None:
        return Client.objects.none()
    return clients_for(request.user).order_by("code")


class InventoryFilter(django_filters.FilterSet):
    """Filters on StockLevel rows already limited to one warehouse (or the totals) and the user's clients.

    The queryset may come with or without figures; the filters and sorts that need them add
    them. `matching` is the filtered rows before sorting: what the page counts, with the
    figures only when a filter needs them (a COUNT(*) then reads no more than the filters do).
    """

    warehouse = django_filters.CharFilter(method="filter_warehouse", label="Warehouse code")
    q = django_filters.CharFilter(method="filter_q", label="Search SKU or description")
    kind = django_filters.ChoiceFilter(
        field_name="part__kind", choices=Part.Kind.choices, label="Kind", empty_label="Any kind"
    )
    client = django_filters.ChoiceFilter(method="filter_client", label="Client", empty_label="All clients")
    low_stock = django_filters.BooleanFilter(
        method="filter_low_stock", widget=forms.CheckboxInput, label="Low stock (Available at or below threshold)"
    )
    shortage = django_filters.BooleanFilter(
        method="filter_shortage", widget=forms.CheckboxInput, label="Shortage (negative Stock Balance)"
    )
    sku = django_filters.CharFilter(field_name="part__sku", lookup_expr="iexact", label="SKU")
    sort = django_filters.ChoiceFilter(method="filter_sort", choices=sort_choices, label="Sort")

    class Meta:
        model = StockLevel
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        def client_choices():  # a function, not a bound method: form fields deep-copy their choices
            return [(code, name) for code, (_id, name) in self._clients_by_code.items()]

        self.client_choices = client_choices
        self.filters["client"].extra["choices"] = client_choices

    @cached_property
    def _clients_by_code(self) -> dict[str, tuple[int, str]]:
        """The user's clients, read once for both the validation and the dropdown.

        (A ModelChoiceFilter queries once to validate and again to render, that time through a
        server-side cursor: DECLARE … WITH HOLD, FETCH, CLOSE.)
        """
        return {code: (id_, name) for id_, code, name in _clients(self.request).values_list("id", "code", "name")}

    def filter_client(self, queryset, name, value: str):
        return queryset.filter(part__client_id=self._clients_by_code[value][0]) if value else queryset

    def filter_warehouse(self, queryset, name, value: str):
        # The warehouse chooses which StockLevel rows are read at all (see `inventory_queryset`).
        return queryset

    def filter_q(self, queryset, name, value: str):
        value = (value or "").strip()
        if not value:
            return queryset
        return queryset.filter(Q(part__sku__icontains=value) | Q(part__description__icontains=value))

    def filter_low_stock(self, queryset, name, value: bool):
        if not value:
            return queryset
        return queryset.filter(low_stock_threshold__gt=0, available__lte=F("low_stock_threshold"))

    def filter_shortage(self, queryset, name, value: bool):
        return queryset.shortage() if value else queryset

    def filter_sort(self, queryset, name, value: str):
        return apply_sort(queryset, value)

    def filter_queryset(self, queryset):
        data = dict(self.form.cleaned_data)
        sort = data.pop("sort", None)
        for name, value in data.items():
            queryset = self.filters[name].filter(queryset, value)
        self.matching = queryset
        return self.filters["sort"].filter(queryset, sort)


def warehouse_from_params(params) -> Warehouse | None:
    """The warehouse chosen by `?warehouse=CODE`, or None for all warehouses (also for an unknown code)."""
    code = (params.get("warehouse") or "").strip()
    if not code:
        return None
    return Warehouse.objects.filter(code=code).first()


def inventory_scope(user, warehouse: Warehouse | None):
    """The StockLevel rows a user may see at one warehouse (or over all), without figures: cheap to count."""
    queryset = StockLevel.objects.for_warehouse(warehouse).order_by(*DEFAULT_SORT)
    return scope_to_user(queryset, user, client_field="part__client")


def with_list_columns(queryset):
    """The figures, and only the columns the inventory list, the export and the API show."""
    return (
        queryset.with_figures()
        .select_related("part", "warehouse")
        .only(
            *FIGURE_COLUMNS,
            "part__id",
            "part__sku",
            "part__description",
            "part__kind",
            "part__low_stock_threshold",
            "part__thumbnail",
            "part__client_id",
            "warehouse__id",
            "warehouse__code",
            "warehouse__name",
        )
    )


def inventory_queryset(user, warehouse: Warehouse | None):
    """The figures rows a user may see at one warehouse (or over all), before filters: one query, any page size."""
    return with_list_columns(inventory_scope(user, warehouse))
