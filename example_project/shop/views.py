from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .models import AuditEntry, Order, Product, Restock
from .receivers import PaymentProviderDown

User = get_user_model()


def home(request: HttpRequest) -> HttpResponse:
    orders = Order.objects.select_related("customer").prefetch_related("items")
    context = {
        "orders": orders,
        "users": User.objects.count(),
        "audit": AuditEntry.objects.all()[:10],
        "products": Product.objects.all(),
        # locmem's outbox exists once this process has sent an email.
        "outbox": getattr(mail, "outbox", []),
    }
    return render(request, "shop/home.html", context)


def pay(request: HttpRequest, number: str) -> HttpResponse:
    """Show an order; a POST or a plain ``?pay=1`` link pays it.

    Paying an order that is already paid pays it again, so every click in the
    demo sends order_paid and shows up in the toolbar.
    """
    order = get_object_or_404(Order.objects.select_related("customer"), number=number)
    results = None
    if request.method == "POST" or request.GET.get("pay"):
        results = _outcomes(order.pay())
    return render(request, "shop/pay.html", _pay_context(order, results, list(order.items.all())))


async def apay(request: HttpRequest, number: str) -> HttpResponse:
    """Pay from an async view: order_paid goes out with asend_robust()."""
    try:
        order = await Order.objects.select_related("customer").aget(number=number)
    except Order.DoesNotExist:
        raise Http404(f"No order {number}") from None
    results = _outcomes(await order.apay())
    items = [item async for item in order.items.all()]
    return render(request, "shop/pay.html", _pay_context(order, results, items, is_async=True))


def delete_order(request: HttpRequest, number: str) -> HttpResponse:
    """Delete an order (POST, or a plain ``?confirm=1`` link); receivers audit it."""
    order = get_object_or_404(Order, number=number)
    deleted = False
    if request.method == "POST" or request.GET.get("confirm"):
        order.delete()
        deleted = True
    context = {"order": order, "deleted": deleted, "audit": AuditEntry.objects.all()[:5]}
    return render(request, "shop/delete_order.html", context)


def cancel_order(request: HttpRequest, number: str) -> HttpResponse:
    """Cancel an order (``?confirm=1``): a receiver raises inside send()."""
    order = get_object_or_404(Order.objects.select_related("customer"), number=number)
    error = ""
    if request.method == "POST" or request.GET.get("confirm"):
        try:
            order.cancel()
        except PaymentProviderDown as exc:
            error = str(exc)
    context = {"order": order, "error": error, "audit": AuditEntry.objects.all()[:5]}
    return render(request, "shop/cancel_order.html", context)


def restock(request: HttpRequest, pk: int) -> HttpResponse:
    """Restock a product (``?confirm=1``): its post_save receiver loops until RecursionError."""
    product = get_object_or_404(Product, pk=pk)
    if request.method == "POST" or request.GET.get("confirm"):
        Restock.objects.create(product=product, quantity=5)
    return render(request, "shop/restock.html", {"product": product})


def reprice(request: HttpRequest) -> HttpResponse:
    """Reprice every product (``?confirm=1``): nothing fails, and the Signals panel
    names four problems (see shop/receivers.py, sync_product)."""
    done = False
    if request.method == "POST" or request.GET.get("confirm"):
        with transaction.atomic():
            # Bypasses sync_product: update() sends no post_save.
            Product.objects.update(price=F("price"))
            for _ in range(3):
                for product in Product.objects.all():
                    product.save(update_fields=["price"])
        done = True
    return render(request, "shop/reprice.html", {"done": done})


def _pay_context(
    order: Order, results: list[dict[str, Any]] | None, items: list[Any], is_async: bool = False
) -> dict[str, Any]:
    # Computed here, not in the template: an async view's template must not query.
    return {
        "order": order,
        "total": sum((item.subtotal for item in items), 0),
        "results": results,
        "errors": sum(not r["ok"] for r in results or []),
        "is_async": is_async,
    }


def _outcomes(responses: list[tuple[Any, Any]]) -> list[dict[str, Any]]:
    """send_robust()'s pairs as rows: which receiver, and what it returned or raised."""
    return [
        {
            "receiver": f"{receiver.__module__}.{receiver.__qualname__}",
            "ok": not isinstance(response, Exception),
            "response": response if not isinstance(response, Exception) else repr(response),
        }
        for receiver, response in responses
    ]
