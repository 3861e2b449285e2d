"""`manage.py bench`: the office's pages and the reminder scan at 10,000 and 100,000 cases.

PostgreSQL only (it refuses anything else): seeds synthetic cases with `seed_demo --cases N`
(about ten timeline events each, spread over every state and school), then measures in-process
with Django's test Client, for the dashboard, the filtered case list and a case page:

- the number of queries of one request;
- the median and p95 server time over repeated requests;
- the summed time of the very same SQL run raw with EXPLAIN ANALYZE (planning + execution),
  and the ratio page time / raw SQL time;
- the growth of the median from the first size to the last;

and for the reminder scan (deadlines.api.scan) its time and query count on the first
run (which writes the reminders), its peak Python memory (tracemalloc) on the same work, and the
time of a repeat run (nothing new to write). Delivery is not part of the scan: queueing the
e-mails is replaced by a no-op while measuring.

Prints a table and writes JSON (--json, default var/bench.json). `make bench` runs it against
the database in BENCH_DATABASE_URL (created if missing).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from contextlib import contextmanager
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from unittest import mock

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils.http import urlencode

from cases.models import OPEN_STATES, Case, State, TrainingSchool, User
from deadlines import api as deadlines
from notifications.models import Notification
from office.selectors import _breakdown_counts

GOAL_QUERIES = 12
GOAL_FACTOR, GOAL_SLACK_MS = 2.0, 30.0
GOAL_GROWTH = 1.5


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


class Command(BaseCommand):
    help = "Benchmark the office's pages and the reminder scan at 10k and 100k cases (PostgreSQL)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
        parser.add_argument("--repeat", type=int, default=30, help="Requests per page.")
        parser.add_argument("--explain-repeat", type=int, default=5)
        parser.add_argument("--json", default=str(Path(settings.VAR_DIR) / "bench.json"))
        parser.add_argument(
            "--throughput-seconds",
            type=float,
            default=10.0,
            help="Seconds per throughput run (gunicorn; 0 skips the throughput figures).",
        )
        parser.add_argument(
            "--markdown",
            nargs="+",
            metavar="JSON",
            help="Measure nothing: print the README's tables from these JSON files (runs at "
            "different sizes, e.g. var/bench.json and a million-case run's), growth per size.",
        )
        parser.add_argument(
            "--skip-scan",
            action="store_true",
            help="Measure the pages, throughput and export only, not the reminder scan (at a "
            "million cases the scan's runs take half an hour).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Empty the database first (flush): needed when it holds more cases than the "
            "smallest size.",
        )

    def handle(
        self,
        *args,
        sizes,
        repeat,
        explain_repeat,
        json: str,
        reset: bool,
        throughput_seconds: float,
        markdown: list[str] | None = None,
        skip_scan: bool = False,
        **opts,
    ):
        if markdown:
            self.stdout.write(markdown_tables([Path(p) for p in markdown]))
            return
        if connection.vendor != "postgresql":
            raise CommandError(
                "The benchmark needs PostgreSQL: set DATABASE_URL=postgres://... "
                f"(this database is {connection.vendor})."
            )
        settings.DEBUG = False  # no query log growing in memory while we measure
        if "testserver" not in settings.ALLOWED_HOSTS:
            settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        self.repeat, self.explain_repeat = repeat, explain_repeat
        self.throughput_seconds = throughput_seconds
        self.skip_scan = skip_scan
        started = time.perf_counter()
        if reset:
            self.stdout.write("Emptying the database (flush)...")
            call_command("flush", interactive=False, verbosity=0)
        results: dict[str, Any] = {"sizes": {}, "goals": self._goals()}
        for size in sorted(sizes):
            with override_settings(ROOT_URLCONF="stagebureau.bench_urls"):
                results["sizes"][str(size)] = self._measure_size(size)
        results["growth"] = self._growth(results["sizes"], sorted(sizes))
        results["seconds"] = round(time.perf_counter() - started, 1)
        self._print(results, sorted(sizes))
        path = Path(json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dumps(results))
        self.stdout.write(f"\nJSON written to {path} ({results['seconds']} s in all).")

    @staticmethod
    def _goals() -> dict[str, Any]:
        return {
            "queries_per_page": GOAL_QUERIES,
            "page_vs_raw_sql": f"<= {GOAL_FACTOR:g} x raw SQL + {GOAL_SLACK_MS:g} ms",
            "growth": GOAL_GROWTH,
        }

    # --- one size ------------------------------------------------------------------------

    def _measure_size(self, size: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        self.stdout.write(f"\nSeeding {size:,} synthetic cases...")
        call_command("seed_demo", cases=size, quiet_logins=True, stdout=_Null())
        seed_s = time.perf_counter() - t0
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
            # Flush the seed's writes now, not in a checkpoint in the middle of the measurements
            # (a 100k seed's flush doubled the case page's SQL time in one run). Needs a
            # superuser or pg_checkpoint; without, the figures say so.
            try:
                cursor.execute("CHECKPOINT")
                flushed = "checkpointed"
            except DatabaseError:
                flushed = "NOT checkpointed (no privilege: a checkpoint may fall in the figures)"
        self.stdout.write(f"  seeded in {seed_s:.0f} s; vacuumed, analysed, {flushed}")
        office = User.objects.get(username="stagebureau")
        school = TrainingSchool.objects.order_by("name").first()
        case = (
            Case.objects.filter(state=State.IMPROVING, description__startswith="[synthetic]")
            .order_by("-pk")
            .first()
        )
        client = Client()
        client.force_login(office)
        # One student in the middle of the synthetic ones, searched as the office types it.
        student = User.objects.get(username=f"bench-student{size // 2:06d}")
        name = f"{student.first_name} {student.last_name}"
        office_list = reverse("office:office_list")
        admin_list = reverse("admin:cases_case_changelist")
        # The dashboard's own link to the overdue list (office.views.dashboard).
        dashboard = client.get(reverse("office:dashboard")).content.decode()
        overdue_url = html.unescape(re.search(r'href="([^"]*overdue=1[^"]*)"', dashboard)[1])
        pages = {
            "dashboard": reverse("office:dashboard"),
            "case list (filtered)": office_list
            + f"?state=improving&school={school.pk}&sort=-signalled",
            "case list (overdue)": overdue_url,
            "search (one student)": office_list + "?" + urlencode({"q": name}),
            "search (case number)": office_list + "?" + urlencode({"q": case.number}),
            "case page": reverse("portal:case", args=[case.pk]),
            # The peer: Django's admin on the same filter and search.
            "admin (filtered)": admin_list + f"?state__exact=improving&placement__school__region="
            f"{school.region}",
            "admin (search one student)": admin_list + "?" + urlencode({"q": name}),
            "bare Django view": "/bench/bare/",
        }
        measured: dict[str, Any] = {
            "cases": Case.objects.count(),
            "open_cases": Case.objects.filter(state__in=OPEN_STATES).count(),
            "seed_seconds": round(seed_s, 1),
            "seed_peak_rss_mib": round(_peak_rss_mib(), 1),
            "pages": {},
        }
        for name, url in pages.items():
            self.stdout.write(f"  {name}: {url}")
            # The peer's search scans every case: at a million, seconds a request, so it is
            # measured on fewer requests (its median is no less a median).
            peer = name.startswith("admin")
            measured["pages"][name] = self._measure_page(client, url, few=peer and size >= 500_000)
        bare_ms = measured["pages"]["bare Django view"]["median_ms"]
        case_ms = measured["pages"]["case page"]["median_ms"]
        measured["case_page_vs_bare"] = round(bare_ms / case_ms, 3) if case_ms else None
        if self.throughput_seconds > 0:
            measured["throughput"] = self._measure_throughput(
                client,
                {
                    "bare Django view (signed out)": pages["bare Django view"],
                    "bare Django view": pages["bare Django view"],
                    "case page": pages["case page"],
                    "dashboard": pages["dashboard"],
                },
            )
        measured["breakdowns"] = self._measure_breakdowns()
        measured["export"] = self._measure_export(client)
        measured["scan"] = None if self.skip_scan else self._measure_scan()
        measured["scan_task"] = None if self.skip_scan else self._measure_scan_task()
        return measured

    def _measure_throughput(self, client: Client, urls: dict[str, str]) -> dict[str, Any]:
        """Requests per second through gunicorn (2 sync workers, persistent database
        connections) on loopback, by wrk when installed, else by a bounded Python client (4
        keep-alive-less connections in threads): each page twice, interleaved, the median. The
        bare view twice: signed out (Django's floor: no session, no user) and signed in as the
        office (the same session and user query as every page), the yardsticks of the ratios."""
        port = _free_port()
        env = {
            **os.environ,
            "DEBUG": "false",
            "DATABASE_CONN_MAX_AGE": "60",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
        command = [
            sys.executable, "-m", "gunicorn", "stagebureau.bench_wsgi:application",
            "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        ]  # fmt: skip
        server = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)
        try:
            _wait_for_port(port)
            session = client.cookies[settings.SESSION_COOKIE_NAME].value
            cookie = f"{settings.SESSION_COOKIE_NAME}={session}"
            tool = "wrk" if shutil.which("wrk") else "python"
            runs: dict[str, list[float]] = {name: [] for name in urls}
            cookies = {name: None if "signed out" in name else cookie for name in urls}
            for name, url in urls.items():  # warm up every worker
                _throughput(tool, port, url, cookies[name], seconds=2)
            for _round in range(2):
                for name, url in urls.items():
                    runs[name].append(
                        _throughput(tool, port, url, cookies[name], self.throughput_seconds)
                    )
        finally:
            server.terminate()
            server.wait(timeout=30)
        result: dict[str, Any] = {"client": tool, "workers": 2, "seconds": self.throughput_seconds}
        bare = statistics.median(runs["bare Django view"])
        floor = statistics.median(runs["bare Django view (signed out)"])
        for name, values in runs.items():
            rps = statistics.median(values)
            result[name] = {
                "rps": round(rps, 1),
                "vs_bare": round(rps / bare, 3),
                "vs_signed_out": round(rps / floor, 3),
            }
            self.stdout.write(
                f"  throughput {name}: {rps:,.0f} requests/s ({tool}, 2 workers), "
                f"{rps / bare:.1%} of the bare view signed in, {rps / floor:.1%} signed out"
            )
        return result

    def _measure_breakdowns(self) -> dict[str, Any]:
        """The dashboard's breakdowns (open cases by programme, year, board, category) as
        computed once per DASHBOARD_BREAKDOWN_SECONDS: the dashboard's median above is mostly
        served from that cache, this is what the one request a minute pays."""
        times = []
        for _ in range(max(3, self.explain_repeat)):
            t = time.perf_counter()
            _breakdown_counts(None, None)
            times.append((time.perf_counter() - t) * 1000)
        result = {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}
        self.stdout.write(f"  dashboard breakdowns, uncached: {result['median_ms']} ms")
        return result

    def _measure_export(self, client: Client) -> dict[str, Any]:
        """The CSV export of every case, streamed: rows per second and peak Python memory."""
        url = reverse("office:office_export", args=["csv"])
        t = time.perf_counter()
        response = client.get(url)
        # The access log's INSERT ... SELECT (one row per exported case) runs before the body.
        headers_s = time.perf_counter() - t
        rows = 0
        tracemalloc.start()
        for chunk in response.streaming_content:
            rows += chunk.count(b"\n")
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        seconds = time.perf_counter() - t
        # Once more without tracemalloc (it slows Python down) for the speed.
        t = time.perf_counter()
        response = client.get(url)
        headers_fast = time.perf_counter() - t
        for _chunk in response.streaming_content:
            pass
        fast = time.perf_counter() - t
        result = {
            "rows": rows - 1,
            "seconds": round(fast, 2),
            "rows_per_s": round((rows - 1) / fast),
            "access_log_s": round(headers_fast, 2),
            "stream_rows_per_s": round((rows - 1) / max(fast - headers_fast, 1e-6)),
            "access_log_s_traced_run": round(headers_s, 2),
            "seconds_traced": round(seconds, 2),
            "peak_mib": round(peak / 2**20, 1),
        }
        self.stdout.write(
            f"  CSV export: {result['rows']:,} rows in {fast:.1f} s "
            f"({result['rows_per_s']:,} rows/s; {result['stream_rows_per_s']:,} rows/s after the "
            f"access log's {result['access_log_s']} s), peak {result['peak_mib']} MiB"
        )
        return result

    def _measure_scan_task(self) -> dict[str, Any]:
        """The real Celery task (deadlines.tasks.scan_deadlines) publishing to the real broker
        (CELERY_BROKER_URL; nothing consumes while measuring): time, messages, within limits."""
        from celery import current_app

        from deadlines.tasks import SCAN_SOFT_TIME_LIMIT, scan_deadlines

        Notification.objects.filter(event__startswith="deadline:").delete()
        app = current_app._get_current_object()
        app.control.purge()
        t = time.perf_counter()
        result = scan_deadlines.apply()
        seconds = time.perf_counter() - t
        with app.connection_for_write() as conn:
            messages = conn.default_channel.queue_declare(
                queue=app.conf.task_default_queue, passive=True
            ).message_count
        app.control.purge()
        data = {
            "broker": app.conf.broker_url.split("://")[0],
            "state": result.state,
            "created": result.result if result.successful() else None,
            "seconds": round(seconds, 2),
            "messages": messages,
            "soft_time_limit_s": SCAN_SOFT_TIME_LIMIT,
            "within_limit": result.successful() and seconds < SCAN_SOFT_TIME_LIMIT,
        }
        self.stdout.write(
            f"  scan task ({data['broker']}): {data['created']} notifications in "
            f"{seconds:.1f} s, {messages} broker messages, state {result.state}"
        )
        return data

    def _measure_page(self, client: Client, url: str, *, few: bool = False) -> dict[str, Any]:
        repeat, explain_repeat = (3, 1) if few else (self.repeat, self.explain_repeat)
        for _ in range(0 if few else 3):  # warm up: templates, caches, connection
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        statements = [q["sql"] for q in ctx.captured_queries]
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - t) * 1000)
        plan_ms, exec_ms = self._explain(statements, explain_repeat)
        median = statistics.median(times)
        raw = plan_ms + exec_ms
        return {
            "queries": len(statements),
            "median_ms": round(median, 2),
            "p95_ms": round(percentile(times, 95), 2),
            "raw_sql_ms": round(raw, 2),
            "raw_sql_exec_ms": round(exec_ms, 2),
            "raw_sql_plan_ms": round(plan_ms, 2),
            "ratio": round(median / raw, 2) if raw else None,
            "goal_queries": len(statements) <= GOAL_QUERIES,
            "goal_page_vs_sql": median <= GOAL_FACTOR * raw + GOAL_SLACK_MS,
            "slowest_sql": {} if few else self._slowest(statements),
        }

    def _explain(self, statements: list[str], repeat: int) -> tuple[float, float]:
        """Median over runs of the summed planning and execution time of the statements."""
        plans, execs = [], []
        for _ in range(repeat):
            plan_total = exec_total = 0.0
            with connection.cursor() as cursor:
                for sql in statements:
                    if not sql.lstrip().upper().startswith(("SELECT", "WITH", "(")):
                        continue
                    cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
                    plan = _plan(cursor.fetchone()[0])
                    plan_total += plan["Planning Time"]
                    exec_total += plan["Execution Time"]
            plans.append(plan_total)
            execs.append(exec_total)
        return statistics.median(plans), statistics.median(execs)

    def _slowest(self, statements: list[str]) -> dict[str, Any]:
        best = {"ms": 0.0, "sql": ""}
        with connection.cursor() as cursor:
            for sql in statements:
                if not sql.lstrip().upper().startswith(("SELECT", "WITH", "(")):
                    continue
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
                plan = _plan(cursor.fetchone()[0])
                ms = plan["Planning Time"] + plan["Execution Time"]
                if ms > best["ms"]:
                    best = {"ms": round(ms, 2), "sql": sql[:300]}
        return best

    def _measure_scan(self) -> dict[str, Any]:
        def clear() -> None:
            Notification.objects.filter(event__startswith="deadline:").delete()

        clear()
        with _no_delivery():
            reset_queries()
            with CaptureQueriesContext(connection) as ctx:
                t = time.perf_counter()
                first = deadlines.scan()
                first_s = time.perf_counter() - t
            queries = len(ctx)
            clear()
            tracemalloc.start()
            deadlines.scan()
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            t = time.perf_counter()
            repeat = deadlines.scan()
            repeat_s = time.perf_counter() - t
        self.stdout.write(
            f"  reminder scan: {first.created:,} reminders in {first_s:.1f} s, "
            f"peak {peak / 2**20:.1f} MiB; repeat {repeat_s:.1f} s"
        )
        return {
            "created": first.created,
            "by_kind": first.by_kind,
            "queries": queries,
            "seconds": round(first_s, 2),
            "repeat_seconds": round(repeat_s, 2),
            "repeat_created": repeat.created,
            "peak_mib": round(peak / 2**20, 1),
        }

    # --- summary ---------------------------------------------------------------------------

    @staticmethod
    def _growth(by_size: dict[str, Any], sizes: list[int]) -> dict[str, Any]:
        if len(sizes) < 2:
            return {}
        small, large = by_size[str(sizes[0])], by_size[str(sizes[-1])]
        growth: dict[str, Any] = {}
        for name, page in large["pages"].items():
            before = small["pages"][name]["median_ms"]
            ratio = page["median_ms"] / before if before else None
            growth[name] = {
                "ratio": round(ratio, 2) if ratio else None,
                "goal": ratio is not None and ratio <= GOAL_GROWTH,
            }
        for key in ("repeat_seconds", "peak_mib"):
            if not (small["scan"] and large["scan"]):
                break
            before, after = small["scan"][key], large["scan"][key]
            growth[f"scan {key}"] = {"ratio": round(after / before, 2) if before else None}
        return growth

    def _print(self, results: dict[str, Any], sizes: list[int]) -> None:
        w = self.stdout.write
        w("")
        header = (
            f"{'page':<22}{'cases':>9}{'queries':>9}{'median ms':>11}{'p95 ms':>9}"
            f"{'raw SQL ms':>12}{'ratio':>7}{'growth':>8}  goals"
        )
        w(header)
        w("-" * len(header))
        growth = results.get("growth", {})
        for size in sizes:
            data = results["sizes"][str(size)]
            for name, page in data["pages"].items():
                g = growth.get(name, {}).get("ratio") if size == sizes[-1] else None
                goals = [
                    "queries ok" if page["goal_queries"] else "QUERIES",
                    "time ok" if page["goal_page_vs_sql"] else "TIME",
                ]
                if g is not None:
                    goals.append("growth ok" if g <= GOAL_GROWTH else "GROWTH")
                w(
                    f"{name:<22}{data['cases']:>9,}{page['queries']:>9}{page['median_ms']:>11.1f}"
                    f"{page['p95_ms']:>9.1f}{page['raw_sql_ms']:>12.1f}"
                    f"{page['ratio'] or 0:>7.2f}{(f'{g:.2f}' if g is not None else '-'):>8}  "
                    + ", ".join(goals)
                )
        w("")
        w(
            f"{'reminder scan':<22}{'cases':>9}{'open':>9}{'created':>9}{'queries':>9}"
            f"{'first s':>9}{'repeat s':>10}{'peak MiB':>10}"
        )
        for size in sizes:
            data = results["sizes"][str(size)]
            scan = data["scan"]
            if not scan:
                w(f"{'':<22}{data['cases']:>9,}  (not measured: --skip-scan)")
                continue
            w(
                f"{'':<22}{data['cases']:>9,}{data['open_cases']:>9,}{scan['created']:>9,}"
                f"{scan['queries']:>9}{scan['seconds']:>9.1f}{scan['repeat_seconds']:>10.1f}"
                f"{scan['peak_mib']:>10.1f}"
            )
        w("")
        for size in sizes:
            data = results["sizes"][str(size)]
            export, task = data["export"], data["scan_task"] or _NO_TASK
            w(
                f"{data['cases']:>9,} cases: CSV export {export['rows']:,} rows "
                f"{export['rows_per_s']:,} rows/s ({export['stream_rows_per_s']:,} streamed), "
                f"peak {export['peak_mib']} MiB; scan task "
                f"({task['broker']}) {task['seconds']} s, {task['messages']} messages, "
                f"{task['state']}; case page / bare view {data['case_page_vs_bare']}; "
                f"seed peak RSS {data['seed_peak_rss_mib']} MiB"
            )
            throughput = data.get("throughput")
            if throughput:
                w(
                    f"{'':>9}  throughput ({throughput['client']}, gunicorn, 2 workers): "
                    + "; ".join(
                        f"{name} {row['rps']:,.0f}/s ({row['vs_bare']:.1%} of bare signed in, "
                        f"{row['vs_signed_out']:.1%} of bare signed out)"
                        for name, row in throughput.items()
                        if isinstance(row, dict)
                    )
                )


def markdown_tables(paths: list[Path]) -> str:
    """The README's tables from one or more result files, sizes ascending, each page's growth
    against the next smaller size (the goal: at most 1.5 per tenfold)."""
    by_size: dict[int, dict[str, Any]] = {}
    for path in paths:
        for size, data in json.loads(path.read_text())["sizes"].items():
            by_size[int(size)] = data
    sizes = sorted(by_size)
    lines = [
        "| page | cases | queries | median ms | p95 ms | raw SQL ms (plan + exec) | growth |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in by_size[sizes[0]]["pages"]:
        previous = None
        for size in sizes:
            data = by_size[size]
            page = data["pages"].get(name)
            if page is None:
                continue
            growth = f"{page['median_ms'] / previous:.2f}" if previous else ""
            previous = page["median_ms"]
            lines.append(
                f"| {name} | {data['cases']:,} | {page['queries']} | {page['median_ms']:.0f} | "
                f"{page['p95_ms']:.0f} | {page['raw_sql_ms']:.1f} ({page['raw_sql_plan_ms']:.1f}"
                f" + {page['raw_sql_exec_ms']:.1f}) | {growth} |"
            )
    lines += [
        "",
        "| cases | CSV rows/s (whole request) | rows/s after the access log | access log s "
        "| export peak MiB | scan task s | notifications | broker messages | task state "
        "| breakdowns uncached ms |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for size in sizes:
        data = by_size[size]
        export, task = data["export"], data["scan_task"] or _NO_TASK
        lines.append(
            f"| {data['cases']:,} | {export['rows_per_s']:,} | {export['stream_rows_per_s']:,} | "
            f"{export['access_log_s']} | {export['peak_mib']} | {task['seconds']} | "
            f"{task['created'] or 0:,} | {task['messages']} | {task['state']} | "
            f"{data.get('breakdowns', {}).get('median_ms', '')} |"
        )
    lines += [
        "",
        "| cases | page | requests/s | of bare signed in | of bare signed out |",
        "| ---: | --- | ---: | ---: | ---: |",
    ]
    for size in sizes:
        throughput = by_size[size].get("throughput") or {}
        for name, row in throughput.items():
            if isinstance(row, dict):
                lines.append(
                    f"| {by_size[size]['cases']:,} | {name} | {row['rps']:,.0f} | "
                    f"{row['vs_bare']:.1%} | {row['vs_signed_out']:.1%} |"
                )
    return "\n".join(lines)


# What the tables show for a run without the scan (--skip-scan).
_NO_TASK = {"broker": "-", "seconds": "-", "messages": "-", "state": "not measured", "created": 0}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise CommandError(f"gunicorn did not start on port {port}")


def _throughput(tool: str, port: int, url: str, cookie: str | None, seconds: float) -> float:
    """Successful requests per second for `seconds` on loopback."""
    headers = {"Cookie": cookie} if cookie else {}
    if tool == "wrk":
        out = subprocess.run(
            ["wrk", "-t2", "-c4", f"-d{max(1, round(seconds))}s",
             *(arg for key, value in headers.items() for arg in ("-H", f"{key}: {value}")),
             f"http://127.0.0.1:{port}{url}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        if "Non-2xx or 3xx responses" in out:
            raise CommandError(f"{url}: wrk saw error responses:\n{out}")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    counts = [0] * 4
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        while time.monotonic() < stop:
            conn = HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", url, headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status != 200:
                raise CommandError(f"{url}: status {response.status}")
            counts[i] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def _peak_rss_mib() -> float:
    """This process's peak resident memory so far (the seed runs in-process)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _plan(value) -> dict:
    data = json.loads(value) if isinstance(value, str) else value
    return data[0]


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)


@contextmanager
def _no_delivery():
    with mock.patch("notifications.services.queue_delivery", lambda ids: None):
        yield


class _Null:
    def write(self, *args, **kwargs) -> None:
        pass

    def flush(self) -> None:
        pass
