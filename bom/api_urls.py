from django.urls import re_path

from bom import api
from core.api import ID_PATTERN

urlpatterns = [
    re_path(rf"^parts/(?P<part_id>{ID_PATTERN})/bom/$", api.PartBomView.as_view(), name="part-bom"),
]
