from django import forms
from django.conf import settings

from core.timezones import time_zone_names


class PreferencesForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        help_text="Dates on every page, in date filters and in exports are shown in this zone.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [("", f"Site time zone ({settings.TIME_ZONE})")] + [
            (name, name) for name in time_zone_names()
        ]
