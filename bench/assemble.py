"""Per-recipient message bytes from a skeleton, against the stdlib's per-recipient EmailMessage build.

A ~100 KB issue (German text with umlauts, an HTML part of about 100 KB, both quoted-printable) is encoded
once into a skeleton; then, on one core, each recipient's message is made: To, Message-ID, Date and
List-Unsubscribe headers and the reader's two signed links (one-click unsubscribe, preference center)
filled in, no DKIM. Two figures: the whole per-recipient step including signing the links, and the
assembly alone. Baseline in the same run: building an ``email.message.EmailMessage`` per recipient with
the same headers and parts and serialising it (what a naive sender does).

    python -m bench.assemble [--quick]
"""

from __future__ import annotations

import time

from bench import common
from newsletter import links, mime
from newsletter.rendering import SLOTS, RenderedEmail, fill_slots

SECRET = "bench-secret-key-bench-secret-key-0123456789"  # noqa: S105 (a benchmark key)
BASE = "https://newsletter.ki-kompass.example"
GOAL_RATE = 50_000
GOAL_RATIO = 100


def _issue(target_kb: int = 88) -> RenderedEmail:
    card = (
        '<tr><td style="padding:8px 24px;font-family:Helvetica,Arial,sans-serif;color:#1d2330">'
        '<h2 style="font-size:20px;margin:0 0 6px">Künstliche Intelligenz in der Verwaltung: Wie Ämter '
        'Anträge schneller prüfen</h2><p style="font-size:16px;line-height:1.55;margin:0">Städte und '
        "Gemeinden testen Sprachmodelle für Bürgeranfragen. Wir haben nachgefragt, was gut läuft, wo es "
        'hakt und wer haftet, wenn die Maschine irrt.</p><a href="https://ki-kompass.example/artikel/'
        'verwaltung" style="color:#0b5cad">Weiterlesen →</a></td></tr>\n'
    )
    html = "<html><body><table>\n"
    while len(html.encode()) < target_kb * 1024:
        html += card
    html += (
        f'<p><a href="{SLOTS["unsubscribe_url"]}">Abmelden</a> · '
        f'<a href="{SLOTS["preferences_url"]}">Einstellungen</a></p></table></body></html>'
    )
    text = (
        "Künstliche Intelligenz in der Verwaltung: Wie Ämter Anträge schneller prüfen\n" * 60
        + f"\nAbmelden: {SLOTS['unsubscribe_url']}\nEinstellungen: {SLOTS['preferences_url']}\n"
    )
    return RenderedEmail(subject="Die KI-Woche: Ämter, Schulen und Sprachmodelle", html=html, text=text)


def _values(i: int, date: str) -> dict[str, str]:
    unsubscribe = links.unsubscribe_url(BASE, SECRET, i, 1)
    return {
        "to": f"leser{i}@example.org",
        "message_id": f"<7.{i}.beitrag@ki-kompass.example>",
        "date": date,
        "list_unsubscribe": f"<{unsubscribe}>, <mailto:abmelden@ki-kompass.example?subject=u{i}>",
        "unsubscribe_url": unsubscribe,
        "preferences_url": links.preferences_url(BASE, SECRET, i),
    }


def _stdlib(rendered: RenderedEmail, values: dict[str, str]) -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage(policy=mime.SMTP_POLICY)
    msg["From"] = "KI-Kompass <redaktion@ki-kompass.example>"
    msg["To"] = values["to"]
    msg["Subject"] = rendered.subject
    msg["Date"] = values["date"]
    msg["Message-ID"] = values["message_id"]
    msg["List-Id"] = "KI-News täglich <ki-news.ki-kompass.example>"
    msg["List-Unsubscribe"] = values["list_unsubscribe"]
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Feedback-ID"] = "7:ki-news:beitrag"
    filled = fill_slots(rendered, values)
    msg.set_content(filled.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(filled.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg.as_bytes()


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0])
    count = 20_000 if args.quick else 100_000
    baseline_count = 100 if args.quick else 300
    rendered = _issue()
    skeleton = mime.build_skeleton(
        rendered, sender_name="KI-Kompass", sender_address="redaktion@ki-kompass.example",
        list_id="KI-News täglich <ki-news.ki-kompass.example>", feedback_id="7:ki-news:beitrag",
        slot_tokens=SLOTS,
    )  # fmt: skip
    date = "Tue, 24 Nov 2026 07:00:00 +0000"
    size = len(skeleton.assemble(_values(0, date)))
    print(f"assemble: {count:,} recipients, message {size / 1024:.1f} KB, one core")

    values = [_values(i, date) for i in range(count)]
    started = time.perf_counter()
    total = 0
    for v in values:
        total += len(skeleton.assemble(v))
    assemble_only = count / (time.perf_counter() - started)

    started = time.perf_counter()
    for i in range(count):
        total += len(skeleton.assemble(_values(i, date)))
    with_links = count / (time.perf_counter() - started)

    started = time.perf_counter()
    for i in range(baseline_count):
        total += len(_stdlib(rendered, _values(i, date)))
    baseline = baseline_count / (time.perf_counter() - started)

    ratio = with_links / baseline
    print(f"skeleton, links signed per recipient: {with_links:,.0f} messages/s")
    print(f"skeleton, assembly alone:             {assemble_only:,.0f} messages/s")
    print(f"baseline, stdlib EmailMessage each:   {baseline:,.0f} messages/s  (ratio {ratio:,.0f}x)")
    met = with_links >= GOAL_RATE and ratio >= GOAL_RATIO
    print(f"goal >= {GOAL_RATE:,}/s and >= {GOAL_RATIO}x the baseline: {'met' if met else 'NOT met'}")
    common.emit(
        {
            "bench": "assemble", "size": {"recipients": count, "message_kb": round(size / 1024, 1)},
            "messages_per_s": round(with_links), "assembly_only_per_s": round(assemble_only),
            "baseline_messages_per_s": round(baseline), "ratio": round(ratio, 1),
            "goal": {"messages_per_s": GOAL_RATE, "ratio": GOAL_RATIO, "met": met},
        }
    )  # fmt: skip


if __name__ == "__main__":
    main()
