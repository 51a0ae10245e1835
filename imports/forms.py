from django import forms

from core.scoping import clients_for


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label="What to import")
    client = forms.ModelChoiceField(label="Client", queryset=None, empty_label=None)
    file = forms.FileField(label="CSV file", help_text="UTF-8 (with or without BOM), first row = column names.")

    def __init__(self, *args, user, importers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(importer.kind, importer.label) for importer in importers]
        self.fields["client"].queryset = clients_for(user)
        self.fields["file"].widget.attrs["accept"] = ".csv,text/csv"
