"""Per-recipient message bytes from a skeleton, against the stdlib's per-recipient EmailMessage build.

A ~100 KB issue (German text with umlauts, an HTML part of about 100 KB, both quoted-printable) is encoded
once into a skeleton; then, on one core, each recipient's message is made: To, Message-ID, Date and
List-Unsubscribe headers and the reader's two signed links (one-click unsubscribe, preference center)
filled in, no DKIM, by the worker's own code (``sending.RecipientSlots``, made once per claimed chunk as
the worker does). Two figures: the whole per-recipient step including signing the links, and the
assembly alone, each by the wall clock and by this process's CPU time (steadier on a busy machine).
Baseline in the same run: building an ``email.message.EmailMessage`` per recipient with the same headers
and parts and serialising it (what a naive sender does). The goal is checked on the wall clock.

    python -m bench.assemble [--quick]
"""

from __future__ import annotations

import time

from bench import common
from newsletter.mail import mime
from newsletter.mail.rendering import SLOTS, RenderedEmail, fill_slots
from newsletter.sending import batches, slots

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


def _slots() -> slots.RecipientSlots:
    return slots.RecipientSlots(
        base_url=BASE, secret_key=SECRET, unsubscribe_mailbox="abmelden@ki-kompass.example", issue_id=7,
        domain="ki-kompass.example",
    )  # fmt: skip


def _values(i: int, slots: slots.RecipientSlots | None = None) -> dict[str, str]:
    """Reader ``i``'s slot values, as the worker makes them (ledger row ``i``, newsletter 1)."""
    return (slots or _slots())(f"leser{i}@example.org", i, 1, i)


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
    size = len(skeleton.assemble(_values(0)))
    print(f"assemble: {count:,} recipients, message {size / 1024:.1f} KB, one core")

    chunk = batches.CLAIM_SIZE  # the worker makes its RecipientSlots once per claimed chunk
    values = [_values(i) for i in range(count)]

    def assembly_only() -> None:
        for v in values:
            skeleton.assemble(v)

    def with_links() -> None:
        for first in range(0, count, chunk):
            slots = _slots()
            for i in range(first, min(first + chunk, count)):
                skeleton.assemble(slots(f"leser{i}@example.org", i, 1, i))

    def stdlib() -> None:
        for i in range(baseline_count):
            _stdlib(rendered, _values(i))

    alone, alone_cpu = _rates(assembly_only, count)
    whole, whole_cpu = _rates(with_links, count)
    baseline, baseline_cpu = _rates(stdlib, baseline_count)

    ratio = whole / baseline
    print("                                      wall clock        CPU time of this process")
    print(f"skeleton, links signed per recipient: {whole:>8,.0f} messages/s  {whole_cpu:>8,.0f} messages/s")
    print(f"skeleton, assembly alone:             {alone:>8,.0f} messages/s  {alone_cpu:>8,.0f} messages/s")
    print(f"baseline, stdlib EmailMessage each:   {baseline:>8,.0f} messages/s  {baseline_cpu:>8,.0f} messages/s")  # noqa: E501
    print(f"ratio {ratio:,.0f}x (CPU time: {whole_cpu / baseline_cpu:,.0f}x)")
    met = whole >= GOAL_RATE and ratio >= GOAL_RATIO
    verdict = "met" if met else "NOT met"
    print(f"goal >= {GOAL_RATE:,}/s and >= {GOAL_RATIO}x the baseline (wall clock): {verdict}")
    common.emit(
        {
            "bench": "assemble", "size": {"recipients": count, "message_kb": round(size / 1024, 1)},
            "messages_per_s": round(whole), "assembly_only_per_s": round(alone),
            "baseline_messages_per_s": round(baseline), "ratio": round(ratio, 1),
            "cpu_time": {"messages_per_s": round(whole_cpu), "assembly_only_per_s": round(alone_cpu),
                         "baseline_messages_per_s": round(baseline_cpu)},
            "goal": {"messages_per_s": GOAL_RATE, "ratio": GOAL_RATIO, "met": met},
        }
    )  # fmt: skip


def _rates(work, count: int) -> tuple[float, float]:
    """``count`` divided by the wall-clock time and by this process's CPU time that ``work`` took. On a
    shared machine the second leaves out the time other processes had the core."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


if __name__ == "__main__":
    main()
