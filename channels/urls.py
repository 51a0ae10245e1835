from django.urls import path

from channels import views

app_name = "channels"

urlpatterns = [
    path("sync/", views.sync_log, name="sync"),
    path("sync/force-push/", views.force_push_records, name="force_push"),
    path("sync/<int:pk>/force-push/", views.force_push_record, name="force_push_one"),
    path("sync/export.xlsx", views.export, name="export"),
    path("sync/exports/<int:run_id>/", views.export_status, name="export_status"),
    path("sync/exports/<int:run_id>/download/", views.export_download, name="export_download"),
    path("mappings/", views.mapping_list, name="mappings"),
    path("mappings/new/", views.mapping_create, name="mapping_create"),
    path("mappings/<int:pk>/edit/", views.mapping_edit, name="mapping_edit"),
    path("mappings/<int:pk>/deactivate/", views.mapping_deactivate, name="mapping_deactivate"),
    path("unmapped/", views.unmapped, name="unmapped"),
]
