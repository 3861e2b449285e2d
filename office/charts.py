"""Small server-side SVG bar charts: no JavaScript, readable by screen readers.

A chart is a list of bars (label, value) or of grouped bars (label, {series: value}). The SVG
carries a <title> and <desc>, every bar its own <title> (a tooltip and a spoken label), and the
template always puts the same numbers in a table next to it for whoever cannot see the picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from cases.models import State

from .selectors import OUTCOME_STATES

# Colour-blind safe palette (Okabe-Ito), in series order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


@dataclass
class Bar:
    label: str
    y: float
    height: float
    x: float
    width: float
    colour: str
    title: str


@dataclass
class Chart:
    """A chart ready for templates/office/dashboard_chart.html."""

    title: str
    description: str
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    labels: list[tuple[float, str]] = field(default_factory=list)  # (x centre, label)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, series)
    rows: list[tuple[str, list]] = field(default_factory=list)  # the data table
    columns: list[str] = field(default_factory=list)
    plot_left: int = 48
    plot_bottom: int = 0
    plot_right: int = 0
    rotate_labels: bool = False

    @property
    def empty(self) -> bool:
        return not any(v for _label, values in self.rows for v in values)


def _nice_max(value: float) -> float:
    """The top of the axis: four equal whole-number steps of 1, 2, 2.5 or 5 x 10^k."""
    raw = value / 4
    if raw <= 1:
        return 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= raw and step == int(step):
            return step * 4
    return 40 * magnitude


def bar_chart(
    title: str,
    description: str,
    data: list[tuple[str, dict[str, float]]],
    *,
    series: list[str] | None = None,
    stacked: bool = True,
    width: int = 640,
    height: int = 260,
    unit: str = "",
) -> Chart:
    """Bars per category label; with several series, stacked (or side by side)."""
    series = series or sorted({name for _label, values in data for name in values})
    left, right, top = 48, 8, 10
    rotate = len(data) > 8 or any(len(label) > 12 for label, _v in data)
    bottom = 70 if rotate else 28
    plot_w, plot_h = width - left - right, height - top - bottom
    if stacked:
        peak = max((sum(values.get(s, 0) for s in series) for _l, values in data), default=0)
    else:
        peak = max((values.get(s, 0) for _l, values in data for s in series), default=0)
    top_value = _nice_max(peak)
    chart = Chart(
        title=title,
        description=description,
        width=width,
        height=height,
        plot_left=left,
        plot_bottom=top + plot_h,
        plot_right=width - right,
        rotate_labels=rotate,
        columns=list(series),
    )
    for i in range(5):
        value = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        chart.ticks.append((round(y, 1), f"{value:g}"))
    slot = plot_w / max(len(data), 1)
    bar_w = slot * 0.7
    for index, (label, values) in enumerate(data):
        x0 = left + slot * index + (slot - bar_w) / 2
        base = 0.0
        for s_index, name in enumerate(series):
            value = values.get(name, 0) or 0
            colour = PALETTE[s_index % len(PALETTE)]
            h = plot_h * value / top_value
            if stacked:
                x, w, y = x0, bar_w, top + plot_h - plot_h * base / top_value - h
                base += value
            else:
                w = bar_w / len(series)
                x, y = x0 + w * s_index, top + plot_h - h
            if value:
                who = f"{label}: {name}" if len(series) > 1 else label
                text = f"{who} {value:g}{unit}"
                chart.bars.append(
                    Bar(label, round(y, 1), round(h, 1), round(x, 1), round(w, 1), colour, text)
                )
        chart.labels.append((round(left + slot * index + slot / 2, 1), label))
        chart.rows.append((label, [values.get(name, 0) or 0 for name in series]))
    if len(series) > 1:
        chart.legend = [(PALETTE[i % len(PALETTE)], name) for i, name in enumerate(series)]
    return chart


# --------------------------------------------------------------------------------------------
# The pictures of the office's report
# --------------------------------------------------------------------------------------------


def report_charts(data: dict[str, Any]) -> list:
    months = data["months"]
    month_label = [m.strftime("%m-%Y") for m in months]
    outcome_labels = {s: str(State(s).label) for s in OUTCOME_STATES}
    new_label, open_label = _("new signals"), _("open at the end of the month")
    charts = [
        bar_chart(
            _("Cases over time"),
            _("New signals per month and the number of cases open at the end of each month."),
            [
                (label, {new_label: data["signalled"][m], open_label: data["open_end"][m]})
                for label, m in zip(month_label, months, strict=True)
            ],
            series=[new_label, open_label],
            stacked=False,
        ),
        bar_chart(
            _("Outcomes per month"),
            _("Cases closed per month: resolved, transferred, stopped, resumed or withdrawn."),
            [
                (label, {outcome_labels[s]: data["closed"][m][s] for s in OUTCOME_STATES})
                for label, m in zip(month_label, months, strict=True)
            ],
            series=[outcome_labels[s] for s in OUTCOME_STATES],
        ),
        bar_chart(
            _("Time from signal to the first conversation"),
            _("Cases signalled in the period, by the days until their first conversation."),
            [(label, {_("cases"): n}) for label, n in data["waits"]],
            series=[_("cases")],
        ),
        bar_chart(
            _("Cases per training school"),
            _("Cases signalled in the period and cases open now, per training school."),
            [
                (
                    row["name"],
                    {
                        _("signalled in the period"): row["signalled"],
                        _("open now"): row["open_now"],
                    },
                )
                for row in data["schools"]
            ],
            series=[_("signalled in the period"), _("open now")],
            stacked=False,
        ),
    ]
    return charts
