from django.urls import path

from requests_app import views

urlpatterns = [
    path("", views.home, name="home"),
]
