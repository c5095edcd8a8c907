from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .models import Profile

User = get_user_model()


def create_user(request: HttpRequest) -> HttpResponse:
    """Create a user: post_save(User) creates a Profile and a LoyaltyAccount (a cascade).

    A POST with a username, or a plain link with ``?create=1`` that picks a free
    name, so one click is enough to see the cascade in the toolbar.
    """
    user = None
    error = ""
    if request.method == "POST" or request.GET.get("create"):
        username = request.POST.get("username", "").strip() or _free_username()
        if User.objects.filter(username=username).exists():
            error = f"{username} already exists."
        else:
            user = User.objects.create_user(username, email=f"{username}@example.com")
    return render(request, "accounts/create_user.html", {"new_user": user, "error": error})


def customers(request: HttpRequest) -> HttpResponse:
    """List the customers' profiles: a post_init receiver queries once per row
    loaded (see accounts/signals.py, name_profile)."""
    profiles = Profile.objects.select_related("user").order_by("user__username")[:50]
    return render(request, "accounts/customers.html", {"profiles": profiles})


def _free_username() -> str:
    number = User.objects.count() + 1
    while User.objects.filter(username=f"customer{number}").exists():
        number += 1
    return f"customer{number}"
