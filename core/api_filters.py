"""The API filter backend (REST_FRAMEWORK["DEFAULT_FILTER_BACKENDS"]): django-filter's, held to the schema."""

import datetime

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions

BOOLEAN_VALUES = {"true", "false", "True", "False"}
PAGE_PARAM = "page"


def _is_iso_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


class FilterBackend(DjangoFilterBackend):
    """Refuses (400, naming the parameter) what django-filter would read loosely: a boolean other than
    true/false (its widget reads it as "not given" and answers every row), a date not in YYYY-MM-DD, a parameter
    given twice (the last one silently won), an empty value for anything but a text filter, a page that is not a
    number. The schema promises exactly these forms."""

    def filter_queryset(self, request, queryset, view):
        check_query_params(request, self.get_filterset(request, queryset, view))
        return super().filter_queryset(request, queryset, view)


def check_query_params(request, filterset=None) -> None:
    params = request.query_params
    problems = {name: ["Give this parameter once."] for name in params if len(params.getlist(name)) > 1}
    if PAGE_PARAM in params and not (params[PAGE_PARAM].isascii() and params[PAGE_PARAM].isdigit()):
        problems[PAGE_PARAM] = [f"Give a page number, not {params[PAGE_PARAM]!r}."]
    for name, field in filterset.filters.items() if filterset is not None else ():
        if name not in params:
            continue
        value = params.get(name)
        if value == "" and not isinstance(field, django_filters.CharFilter):
            problems[name] = ["Give a value, or leave the parameter out."]
        elif isinstance(field, django_filters.BooleanFilter) and value not in BOOLEAN_VALUES:
            problems[name] = [f"Give true or false, not {value!r}."]
        elif isinstance(field, django_filters.DateFilter) and not _is_iso_date(value):
            problems[name] = [f"Give a date as YYYY-MM-DD, not {value!r}."]
    if problems:
        raise exceptions.ValidationError(problems)
