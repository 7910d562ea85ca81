"""Charts drawn on the server as SVG: no script, no inline style (the admin's Content-Security-Policy), and
every number in a <title>, which browsers show on hover."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from insights.selectors import ChartData

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 36
COLOURS = ("#417690", "#e07b39", "#5b9c5b", "#b94a48")


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _ceiling(value: float) -> float:
    """A round top for an axis: 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1
    power = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _svg(chart: ChartData, body: list[str], height: int = HEIGHT) -> SafeString:
    legend = "".join(
        f'<rect x="{LEFT + 130 * i}" y="{height - 12}" width="10" height="10" fill="{COLOURS[i % 4]}"/>'
        f'<text x="{LEFT + 14 + 130 * i}" y="{height - 3}" class="legend">{escape(name)}</text>'
        for i, name in enumerate(_series_names(chart))
    )
    return mark_safe(
        f'<svg class="insights-chart" data-chart="{escape(chart.slug)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(chart.title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(chart.title)}</title>{"".join(body)}{legend}</svg>'
    )


def _series_names(chart: ChartData) -> list[str]:
    return chart.columns[1 : 1 + chart.bar_columns] if chart.kind == "bars" else chart.columns[1:]


def _empty(chart: ChartData) -> SafeString:
    text = f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="empty">No data in this period</text>'
    return _svg(chart, [text])


def _axis(top: float, plot_h: float) -> list[str]:
    out = []
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_number(top * i / 4)}</text>'
        )
    return out


def line_chart(chart: ChartData) -> SafeString:
    """One line per column over the periods, a dot with its value on each period that has one."""
    values = [v for row in chart.rows for v in row[1:] if v is not None]
    if not chart.rows or not any(values):
        return _empty(chart)
    top = 4 * _ceiling(max(values) / 4)  # four gridlines at round numbers
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = len(chart.rows)

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    body = _axis(top, plot_h)
    for i in sorted({0, count // 2, count - 1}):
        anchor = "start" if i == 0 and count > 1 else "end" if i == count - 1 and count > 1 else "middle"
        body.append(f'<text x="{x(i):.1f}" y="{TOP + plot_h + 14}" text-anchor="{anchor}" class="tick">'
                    f"{escape(chart.rows[i][0])}</text>")  # fmt: skip
    for s, name in enumerate(chart.columns[1:]):
        colour = COLOURS[s % 4]
        points = [(x(i), TOP + plot_h - plot_h * row[s + 1] / top, row) for i, row in enumerate(chart.rows)
                  if row[s + 1] is not None]  # fmt: skip
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for px, py, row in points:
            label = f"{row[0]} · {name}: {_number(row[s + 1])}{' ' + chart.unit if chart.unit else ''}"
            body.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}" class="point">'
                        f"<title>{escape(label)}</title></circle>")  # fmt: skip
    return _svg(chart, body)


def bar_chart(chart: ChartData) -> SafeString:
    """Horizontal bars, a group per category (the first ``bar_columns`` columns), longest category first."""
    rows = chart.rows[:12]
    values = [v for row in rows for v in row[1 : 1 + chart.bar_columns] if v is not None]
    if not rows or not any(values):
        return _empty(chart)
    top, label_w, bar_h = _ceiling(max(values)), 170, 9
    group_h = bar_h * chart.bar_columns + 8
    height = TOP + group_h * len(rows) + BOTTOM
    plot_w = WIDTH - label_w - RIGHT - 50
    body = []
    for r, row in enumerate(rows):
        y0 = TOP + group_h * r
        extra = ", ".join(f"{c} {_number(v)}" for c, v in zip(chart.columns[1:], row[1:], strict=False))
        body.append(f'<text x="{label_w - 6}" y="{y0 + group_h / 2 + 2:.1f}" text-anchor="end" class="tick">'
                    f"{escape(str(row[0])[:28])}<title>{escape(f'{row[0]}: {extra}')}</title></text>")  # fmt: skip
        for s in range(chart.bar_columns):
            value = row[1 + s] or 0
            w = plot_w * value / top
            y = y0 + s * bar_h
            label = f"{row[0]} · {chart.columns[1 + s]}: {_number(row[1 + s])}"
            body.append(f'<rect x="{label_w}" y="{y:.1f}" width="{max(w, 1):.1f}" height="{bar_h - 1}" '
                        f'fill="{COLOURS[s % 4]}" class="bar"><title>{escape(label)}</title></rect>'
                        f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 2:.1f}" class="value">'
                        f"{_number(row[1 + s])}</text>")  # fmt: skip
    return _svg(chart, body, height)


def draw(chart: ChartData) -> SafeString:
    return bar_chart(chart) if chart.kind == "bars" else line_chart(chart)
