"""Filters of the sync log (page, export, API and Force Push share them) and of the mappings list.

Every bit of state lives in the URL, so a filtered page, its export and "Force Push all errors
matching these filters" always mean the same rows.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from channels.models import Channel, SkuMapping, SyncRecord
from core.models import Client
from core.scoping import clients_for

NORMAL, ARCHIVAL = "normal", "archival"
VIEW_CHOICES = [(NORMAL, "Normal"), (ARCHIVAL, "Archival")]
VIEW_STATUSES = {NORMAL: SyncRecord.NORMAL_STATUSES, ARCHIVAL: SyncRecord.ARCHIVAL_STATUSES}
FILTER_PARAMS = ("view", "client", "channel", "sku", "status", "date_from", "date_to")


def _clients(request):
    if request is None:
        return Client.objects.none()
    return clients_for(request.user).order_by("code")


def _start_of_day(day: date) -> datetime:
    """Midnight of `day` in the current (the user's) time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


class SyncLogFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            # Said, not ignored: the To date is dropped and the log shows records from the From date on.
            self.add_error("date_to", f"To ({date_to:%Y-%m-%d}) is before From ({date_from:%Y-%m-%d}).")
        return cleaned


class SyncRecordFilter(django_filters.FilterSet):
    """Normal/Archival plus client, channel, SKU, status and date range.

    `view` and `status` are applied last, after `counts_queryset` is taken, so the counts per
    status describe the other filters whatever tab or status is chosen.
    """

    view = django_filters.ChoiceFilter(
        choices=VIEW_CHOICES,
        method="filter_later",
        label="View",
        empty_label=None,
        help_text="normal: In Process and Submitted (the default); archival: Success and Error.",
    )
    status = django_filters.ChoiceFilter(
        choices=SyncRecord.Status.choices, method="filter_later", label="Status", empty_label="Any status"
    )
    client = django_filters.ModelChoiceFilter(
        field_name="client", to_field_name="code", queryset=_clients, label="Client", empty_label="All clients"
    )
    channel = django_filters.CharFilter(field_name="channel_code", label="Channel", help_text="Channel code.")
    sku = django_filters.CharFilter(method="filter_sku", label="SKU", help_text="Part SKU or channel SKU contains.")
    date_from = django_filters.DateFilter(
        method="filter_date_from", label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        method="filter_date_to", label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = SyncRecord
        fields = []
        form = SyncLogFilterForm

    counts_queryset: QuerySet | None = None

    def filter_later(self, queryset, name, value):
        return queryset

    def filter_sku(self, queryset, name, value: str):
        value = (value or "").strip()
        if not value:
            return queryset
        return queryset.filter(Q(sku__icontains=value) | Q(channel_sku__icontains=value))

    def filter_date_from(self, queryset, name, value: date):
        return queryset.filter(created_at__gte=_start_of_day(value))

    def filter_date_to(self, queryset, name, value: date):
        return queryset.filter(created_at__lt=_start_of_day(value + timedelta(days=1)))

    @property
    def view_name(self) -> str:
        cleaned = getattr(self.form, "cleaned_data", None) or {}
        return cleaned.get("view") or NORMAL

    @property
    def status_value(self) -> str:
        cleaned = getattr(self.form, "cleaned_data", None) or {}
        return cleaned.get("status") or ""

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        self.counts_queryset = queryset
        queryset = queryset.for_view(self.view_name)
        if self.status_value:
            queryset = queryset.filter(status=self.status_value)
        return queryset

    def matching_errors(self) -> QuerySet:
        """Every Error record the filters (all but the view) select: the target of "Force Push all"."""
        if self.counts_queryset is None:
            self.qs  # noqa: B018 - evaluates the filters, which sets counts_queryset
        if self.status_value and self.status_value != SyncRecord.Status.ERROR:
            return self.counts_queryset.none()
        return self.counts_queryset.errors()


def sync_records_for(user) -> QuerySet:
    """The records a user may see, newest first: the one base of the log, its export and its API."""
    return SyncRecord.objects.for_user(user).order_by("-created_at", "-id")


def sync_log_filter(user, params, *, request=None) -> SyncRecordFilter:
    """A bound filter over the user's records; `params` is a QueryDict (the URL's GET, or a stored one)."""
    data = params.copy()
    if data.get("view") not in (NORMAL, ARCHIVAL):
        # No view given: the one the asked-for status lives in (`?status=error` means Archival).
        data["view"] = ARCHIVAL if data.get("status") in SyncRecord.ARCHIVAL_STATUSES else NORMAL
    return SyncRecordFilter(data, queryset=sync_records_for(user), request=request or _RequestStub(user))


class _RequestStub:
    """What a FilterSet needs of a request, for filters built outside one (the background export)."""

    def __init__(self, user):
        self.user = user


class SkuMappingFilter(django_filters.FilterSet):
    channel = django_filters.ModelChoiceFilter(
        field_name="channel", queryset=lambda request: _channels(request), label="Channel", empty_label="All channels"
    )
    active = django_filters.BooleanFilter(
        field_name="is_active",
        label="Active",
        widget=forms.Select(choices=[("", "Active and inactive"), ("true", "Active"), ("false", "Inactive")]),
    )
    q = django_filters.CharFilter(method="filter_q", label="Search SKU")

    class Meta:
        model = SkuMapping
        fields = []

    def filter_q(self, queryset, name, value: str):
        value = (value or "").strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(part__sku__icontains=value) | Q(channel_sku__icontains=value) | Q(channel_product_id__icontains=value)
        )


def _channels(request) -> QuerySet:
    if request is None:
        return Channel.objects.none()
    return Channel.objects.for_user(request.user).order_by("name", "id")
