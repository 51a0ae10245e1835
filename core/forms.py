import datetime

from django import forms
from django.conf import settings
from django.utils import timezone

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


class ApiTokenForm(forms.Form):
    """Issue a token: for oneself (no user field) or, on the admin page, for a user the admin manages."""

    user = forms.ModelChoiceField(label="User", queryset=None, help_text="Whose permissions and clients it carries.")
    name = forms.CharField(label="Name", max_length=100, help_text="What uses it, e.g. “ERP nightly sync”.")
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The token stops working at the end of this day. Empty: it never expires.",
    )

    def __init__(self, *args, users=None, **kwargs):
        super().__init__(*args, **kwargs)
        if users is None:
            del self.fields["user"]
        else:
            self.fields["user"].queryset = users
        if "expires_on" not in self.initial and settings.API_TOKEN_DEFAULT_LIFETIME_DAYS > 0:
            lifetime = datetime.timedelta(days=settings.API_TOKEN_DEFAULT_LIFETIME_DAYS)
            self.initial["expires_on"] = timezone.localdate() + lifetime

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        if day is not None and day < timezone.localdate():
            raise forms.ValidationError("Pick today or a later day.")
        return day

    @property
    def expires_at(self) -> datetime.datetime | None:
        """The first instant after the chosen day, in the user's time zone."""
        day = self.cleaned_data["expires_on"]
        if day is None:
            return None
        return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()))
