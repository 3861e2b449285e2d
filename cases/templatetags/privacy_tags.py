"""Labels for the privacy pages: codes in the export (roles, states, kinds) read as words."""

from django import template

register = template.Library()


@register.filter
def label(code, labels):
    """{{ code|label:roles }}: the label of a code in a dict of labels, else the code."""
    if code is None or code == "":
        return ""
    return labels.get(code, code)
