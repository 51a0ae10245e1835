"""Filters of the inventory list, shared by the page, the export and the API."""

import django_filters
from django import forms
from django.db.models import F, Q
from django.utils.functional import cached_property

from core.models import Client
from core.scoping import clients_for, scope_to_user
from inventory import figures
from inventory.models import FIGURE_COLUMNS, Part, StockLevel, Warehouse

# Sort keys the URL may carry besides the figures' (inventory.figures), and the columns they order by.
PART_SORTS = {"sku": "part__sku", "description": "part__description", "warehouse": "warehouse__code"}
DEFAULT_SORT = ("part__sku", "part_id")


def sort_keys() -> list[str]:
    """Every key `?sort=` takes (each also with a leading `-`); anything else is ignored."""
    return [*PART_SORTS, *(figure.key for figure in figures.all_figures() if figure.sortable)]


def sort_choices():
    keys = sort_keys()
    return [(key, key) for key in keys] + [(f"-{key}", f"-{key}") for key in keys]


def apply_sort(queryset, sort: str | None):
    key = (sort or "").lstrip("-")
    descending = bool(sort) and sort.startswith("-")
    figure = figures.get(key)
    if key in PART_SORTS:
        column = PART_SORTS[key]
    elif figure is not None and figure.sortable:
        if not figure.is_stored:
            queryset = queryset.with_figures()
        column = key
    else:
        return queryset.order_by(*DEFAULT_SORT)
    nulls_last = figure is not None and figure.nullable or None  # (None: PostgreSQL's default, index order)
    ordering = F(column).desc(nulls_last=nulls_last) if descending else F(column).asc(nulls_last=nulls_last)
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
