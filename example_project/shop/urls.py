from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("orders/<slug:number>/pay/", views.pay, name="pay"),
    path("orders/<slug:number>/apay/", views.apay, name="apay"),
    path("orders/<slug:number>/delete/", views.delete_order, name="delete_order"),
    path("orders/<slug:number>/cancel/", views.cancel_order, name="cancel_order"),
    path("products/<int:pk>/restock/", views.restock, name="restock"),
    path("products/reprice/", views.reprice, name="reprice"),
]
