"""Render a 20-article issue: Jinja, then MJML, plus the plain-text part, in process, once per variant.

Measured: ``issues.render_issue`` (the app's renderer with its compiled templates) for each of the five
variants in turn. Baseline, same run: the naive path that builds a fresh Jinja environment for every
message (templates parsed again each time, as a per-recipient renderer without a cache would). Also
shown: MJML alone on the same source, to see where the time goes. No database is needed: the issue is
built in memory with the real models.

    python -m bench.render [--quick]
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import timedelta

from bench.common import arguments, emit, summary_ms

GOAL_P99_MS = 5.0


def _issue(n_articles: int):
    from db import utcnow
    from newsletter.editorial.models import Article, Issue, IssueArticle, IssueLayout, IssueState

    issue = Issue(
        id=42,
        subject="KI-News am Dienstag: Chips, Agenten und offene Modelle",
        preheader="Die Woche in fünf Minuten",
        intro="Liebe Leserinnen und Leser,\n\nheute mit **drei Schwerpunkten** und einem [Hinweis](https://ki-kompass.example/).",
        layout=IssueLayout.DIGEST,
        state=IssueState.DRAFT,
        sender_name="KI-Kompass",
        sender_address="redaktion@ki-kompass.example",
    )
    now = utcnow()
    issue.items = [
        IssueArticle(
            position=n,
            article=Article(
                title=f"Meldung {n}: Was das neue Sprachmodell für Behörden bedeutet",
                teaser="Ein Anriss von etwa zwei Sätzen, wie ihn die Redaktion schreibt. " * 2,
                author="Mara Schulz",
                canonical_url=f"https://ki-kompass.example/artikel/meldung-{n}",
                image_url="https://ki-kompass.example/bilder/a.jpg",
                image_credit="Foto: Redaktion",
                sponsored=n == 3,
                published_at=now - timedelta(hours=n),
            ),
        )
        for n in range(n_articles)
    ]
    return issue


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    rounds = 200 if args.quick else 2000
    from app import create_app
    from newsletter.editorial import issues
    from newsletter.mail import rendering

    with tempfile.TemporaryDirectory(prefix="beitrag-bench-") as instance:
        os.environ.setdefault("BEITRAG_INSTANCE", instance)
        app = create_app(
            {
                "BEITRAG_ENV": "testing",
                "DATABASE_URL": f"sqlite:///{instance}/b.db",
                "REDIS_URL": "redis://127.0.0.1:1/0",
                "CHECK_SERVICES": False,
                "SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
            }
        )
        with app.app_context(), app.test_request_context():
            issue = _issue(20)
            base_url = app.config["BASE_URL"]
            variants = issues.VARIANTS
            for v in variants:  # warm up: templates compiled once, as in a running worker
                issues.render_issue(issue, v, base_url=base_url)

            samples = []
            for n in range(rounds):
                t = time.perf_counter()
                rendered = issues.render_issue(issue, variants[n % len(variants)], base_url=base_url)
                samples.append(time.perf_counter() - t)
            ours = summary_ms(samples)

            template_folder = app.root_path + "/templates"
            globals_ = {
                k: app.config[c]
                for k, c in (
                    ("newsroom_name", "NEWSROOM_NAME"),
                    ("postal_address", "POSTAL_ADDRESS"),
                    ("base_url", "BASE_URL"),
                )
            }
            naive = []
            for n in range(max(rounds // 4, 50)):
                t = time.perf_counter()
                renderer = rendering.EmailRenderer(template_folder, globals_)
                context = issues.issue_context(issue, variants[n % len(variants)], base_url=base_url)
                renderer.render(f"issue_{issue.layout.value}", context)
                naive.append(time.perf_counter() - t)
            baseline = summary_ms(naive)

            renderer = rendering.get_renderer()
            context = issues.issue_context(issue, "default", base_url=base_url)
            source = renderer.render_template(
                "email/issue_digest/body.mjml", {"locale": "de", "subject": "x", **context}
            )
            mjml_only = []
            for _ in range(max(rounds // 4, 50)):
                t = time.perf_counter()
                rendering.mjml_to_html(source)
                mjml_only.append(time.perf_counter() - t)
            mjml_summary = summary_ms(mjml_only)

    html_kb = len(rendered.html.encode()) / 1024
    print(f"issue: 20 articles, digest layout, {len(variants)} variants, HTML {html_kb:.1f} KB")
    print(f"render (Jinja + MJML + text): p50 {ours['p50_ms']} ms, p99 {ours['p99_ms']} ms over {ours['n']}")
    print(f"baseline, fresh Jinja each time: p50 {baseline['p50_ms']} ms, p99 {baseline['p99_ms']} ms")
    print(f"MJML alone on the same source: p50 {mjml_summary['p50_ms']} ms, p99 {mjml_summary['p99_ms']} ms")
    verdict = "meets" if ours["p99_ms"] <= GOAL_P99_MS else "MISSES"
    print(f"goal p99 <= {GOAL_P99_MS} ms: {verdict}")
    emit(
        {
            "bench": "render",
            "size": {
                "articles": 20,
                "variants": len(variants),
                "rounds": ours["n"],
                "html_kb": round(html_kb, 1),
            },
            "p99_ms": ours["p99_ms"],
            "p50_ms": ours["p50_ms"],
            "baseline_p99_ms": baseline["p99_ms"],
            "baseline_p50_ms": baseline["p50_ms"],
            "mjml_only_p99_ms": mjml_summary["p99_ms"],
            "ratio": round(baseline["p99_ms"] / ours["p99_ms"], 2),
            "goal": {"p99_ms": GOAL_P99_MS, "met": ours["p99_ms"] <= GOAL_P99_MS},
        }
    )


if __name__ == "__main__":
    main()
