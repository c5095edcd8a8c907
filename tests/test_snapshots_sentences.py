"""The sentences of a snapshot for every outcome a recording can hold: raised,
caught, still running, muted, async, skipped after a failure, sends past
``max_sends`` and a recording of nothing. Read from ``to_dict()``-shaped data,
as ``normalise()`` reads the panel's export and ``signaltrace --format json``."""

from __future__ import annotations

from signal_inspector.snapshots import HEADER, normalise


def test_every_outcome_is_a_sentence() -> None:
    data = {
        "sends": [
            {
                "signal": "shop.paid",
                "sender": "shop.Order",
                "method": "send_robust",
                "receivers": [
                    {"name": "shop.mail", "outcome": "caught", "exception": {"type": "SMTPError"}},
                    {"name": "shop.audit", "outcome": "raised", "exception": None},
                    {"name": "shop.slow", "outcome": "running"},
                    {"name": "shop.noisy", "outcome": "muted"},
                    {"name": "shop.push", "is_async": True},
                ],
                "skipped": [{"name": "shop.after"}],
            }
        ],
        "dropped_sends": 3,
    }
    assert normalise(data).splitlines() == [
        HEADER,
        "shop.paid was sent by shop.Order with send_robust():",
        "  shop.mail raised SMTPError, caught by send_robust().",
        "  shop.audit raised an exception.",
        "  shop.slow was still running when the recording stopped.",
        "  shop.noisy was muted.",
        "  shop.push (async) ran.",
        "  shop.after did not run: a receiver before it raised.",
        "3 more sends past max_sends were counted, not recorded.",
    ]


def test_a_recording_of_nothing_says_so() -> None:
    assert normalise({"sends": []}).splitlines() == [HEADER, "No signal was sent."]
