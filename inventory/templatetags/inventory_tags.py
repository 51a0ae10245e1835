from django import template

register = template.Library()


@register.filter
def figure(obj, name: str):
    """A figure of a StockLevel row by its annotation name (the column list comes from the view)."""
    return getattr(obj, name, "")


@register.filter
def lookup(mapping, key):
    return mapping.get(key, "") if mapping else ""
