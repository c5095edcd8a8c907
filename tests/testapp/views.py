from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from .models import Order
from .signals import order_paid

PAGE = "<html><body><h1>{}</h1></body></html>"


def index(request):
    return HttpResponse(PAGE.format("index"))


def pay(request, pk: int):
    order = get_object_or_404(Order, pk=pk)
    results = order_paid.send_robust(sender=Order, order=order, api_key="sk-live-SECRET")
    errors = sum(isinstance(r, Exception) for _, r in results)
    return HttpResponse(PAGE.format(f"paid {order.pk}, {errors} errors"))


async def apay(request, pk: int):
    order = await Order.objects.aget(pk=pk)
    results = await order_paid.asend_robust(sender=Order, order=order)
    return HttpResponse(PAGE.format(f"paid {order.pk}, {len(results)} results"))
