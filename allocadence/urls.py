from django.urls import path

from allocadence import views

app_name = "allocadence"

urlpatterns = [
    path("", views.runs, name="runs"),
    path("pull/", views.pull_now, name="pull"),
    path("as-of/", views.as_of, name="as-of"),
    path("pushes/<int:push_id>/retry/", views.retry, name="retry"),
]
