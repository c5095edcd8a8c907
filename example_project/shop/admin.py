from __future__ import annotations

from django.contrib import admin

from .models import AuditEntry, LoyaltyAccount, Order, OrderItem, Product


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "customer", "paid_at"]
    inlines = [OrderItemInline]


admin.site.register([Product, LoyaltyAccount, AuditEntry])
