"""Template filters for runs and errors (core.run_text)."""

from django import template

from core.run_text import labelled_counts, split_error

register = template.Library()


@register.filter
def run_counts(run) -> list[tuple[str, str]]:
    """`{% for label, value in run|run_counts %}`: a SyncRun's counts under labels a person reads."""
    return labelled_counts(run.kind, run.counts)


@register.filter
def error_text(text: str):
    """`{% with error=record.error|error_text %}{{ error.summary }} … {{ error.raw }}`."""
    return split_error(text)
