import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q

from core.scoping import clients_for
from inventory.models import Warehouse
from jobs.models import Job, JobLine


def _clients(request):
    return clients_for(request.user) if request is not None else Job.objects.none()


class JobFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Number, title or SKU"}),
    )
    state = django_filters.ChoiceFilter(choices=Job.State.choices, empty_label="Any state")
    client = django_filters.ModelChoiceFilter(queryset=_clients, empty_label="Any client")
    warehouse = django_filters.ModelChoiceFilter(
        queryset=Warehouse.objects.all(),
        field_name="lines__warehouse",
        method="filter_warehouse",
        empty_label="Any warehouse",
    )
    coordinator = django_filters.ModelChoiceFilter(
        field_name="created_by",
        queryset=get_user_model().objects.filter(created_jobs__isnull=False).distinct().order_by("username"),
        empty_label="Anyone",
        label="Coordinator",
    )
    created_after = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__gte",
        label="Saved from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_before = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__lte",
        label="Saved to",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    # Not "Unknown / Yes / No": the default reads as what it does.
    shortfall = django_filters.BooleanFilter(
        method="filter_shortfall",
        label="Shortfall",
        widget=forms.Select(choices=[("", "With or without"), ("true", "With shortfall"), ("false", "Without")]),
    )

    class Meta:
        model = Job
        fields = ["q", "state", "client", "warehouse", "coordinator", "created_after", "created_before"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        on_lines = JobLine.objects.filter(job=OuterRef("pk"), part__sku__icontains=value)
        return queryset.filter(Q(number__icontains=value) | Q(title__icontains=value) | Exists(on_lines))

    def filter_warehouse(self, queryset, name, value):
        return queryset.filter(Exists(JobLine.objects.filter(job=OuterRef("pk"), warehouse=value)))

    def filter_shortfall(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.with_shortfall() if value else queryset.exclude(pk__in=Job.objects.with_shortfall())
