"""Create (or reset) the demo data: users, products and unpaid orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from shop.models import LoyaltyAccount, Order, OrderItem, Product

PRODUCTS = {"Teapot": Decimal("24.00"), "Green tea": Decimal("8.50"), "Mug": Decimal("6.25")}
# (username, loyalty account blocked)
CUSTOMERS = [("alice", False), ("mallory", True)]
# order number -> (customer, [(product, quantity)])
ORDERS = {
    "DEMO-1": ("alice", [("Teapot", 1), ("Green tea", 2)]),
    "DEMO-2": ("alice", [("Mug", 4)]),
    "DEMO-3": ("mallory", [("Green tea", 1)]),
}


class Command(BaseCommand):
    help = "Create the demo users, products and orders; run again to reset them to unpaid."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Seed only a database never seeded (no admin user): `make demo` keeps your data.",
        )

    @transaction.atomic
    def handle(self, *args: Any, if_empty: bool = False, **options: Any) -> None:
        User = get_user_model()
        if if_empty and User.objects.filter(username="admin").exists():
            self.stdout.write("Demo data already there (make demo-reset seeds it afresh).")
            return
        products = {
            name: Product.objects.update_or_create(name=name, defaults={"price": price})[0]
            for name, price in PRODUCTS.items()
        }
        customers = {}
        for username, blocked in CUSTOMERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                # create_user() sends post_save: the receivers add a profile and
                # a loyalty account, as they would for a real sign-up.
                user = User.objects.create_user(username, email=f"{username}@example.com")
            LoyaltyAccount.objects.update_or_create(
                customer=user, defaults={"points": 0, "blocked": blocked}
            )
            customers[username] = user
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "admin@example.com", "admin")
        for number, (username, lines) in ORDERS.items():
            order, _ = Order.objects.update_or_create(
                number=number, defaults={"customer": customers[username], "paid_at": None}
            )
            order.items.all().delete()
            OrderItem.objects.bulk_create(
                OrderItem(
                    order=order,
                    product=products[name],
                    quantity=quantity,
                    unit_price=products[name].price,
                )
                for name, quantity in lines
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(customers)} customers, {len(products)} products, "
                f"{len(ORDERS)} unpaid orders. Admin login: admin / admin."
            )
        )
