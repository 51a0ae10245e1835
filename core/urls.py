from django.urls import path

from core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("system/", views.system, name="system"),
    path("account/", views.account, name="account"),
    path("healthz/", views.healthz, name="healthz"),
]
