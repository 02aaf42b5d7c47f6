"""The admin pages' charts, from a campaign's page, with the words of the page's language.
Each chart's description says in a sentence what it shows; the page's tables carry every
figure too, for readers who cannot see the drawing."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from markupsafe import Markup

from gamify.core.kpis import Uplift
from gamify.services.admin import CampaignPage
from gamify.web.svg_charts import Bar, Interval, bar_chart, column_chart, interval_chart

Number = Callable[..., str]


def charts(
    page: CampaignPage, lang: str, t: Mapping[str, str], number: Number
) -> dict[str, Markup]:
    found: dict[str, Markup] = {}
    if page.days:
        busiest = max(page.days, key=lambda d: d.plays)
        found["days"] = column_chart(
            [Bar(d.day.isoformat(), d.plays) for d in page.days],
            chart_id="plays-per-day",
            title=t["plays_per_day"],
            description=t["plays_per_day_desc"].format(
                first=page.days[0].day,
                last=page.days[-1].day,
                total=number(sum(d.plays for d in page.days)),
                busiest=busiest.day,
                most=number(busiest.plays),
            ),
            show=number,
        )
    if page.odds is not None:
        awards = [
            Bar(line.label.get(lang) if line.label else line.prize, line.awarded)
            for line in page.odds.lines
            if line.awarded
        ]
        found["awards"] = bar_chart(
            awards,
            chart_id="awards",
            title=t["awards"],
            description=t["awards_desc"].format(
                list="; ".join(f"{b.label}: {number(b.value)}" for b in awards) or "–"
            ),
            show=number,
        )
    if page.funnel is not None and page.line.campaign.game == "challenge":
        stages = [Bar(t["took_part"], page.funnel.took_part)]
        steps = getattr(page.line.campaign, "steps", ())
        stages += [
            Bar(t["step_done"].format(label=s.label.get(lang)), page.funnel.steps.get(s.id, 0))
            for s in steps
        ]
        stages += [Bar(t["completed"], page.funnel.completed)]
        stages += [Bar(t["rewarded"], page.funnel.rewarded)]
        found["funnel"] = bar_chart(
            stages,
            chart_id="funnel",
            title=t["funnel"],
            description=t["funnel_desc"].format(
                list="; ".join(f"{b.label}: {number(b.value)}" for b in stages)
            ),
            show=number,
        )
    report = page.report
    if report is not None and report.retention is not None:
        for key, label, uplift, scale, places in (
            ("retention", t["uplift_retention"], report.retention, 100, 1),
            ("revenue", t["uplift_revenue"], report.revenue_per_customer, 1, 2),
        ):
            chart = _uplift_chart(key, label, uplift, scale, places, t, number)
            if chart is not None:
                found[f"uplift_{key}"] = chart
    return found


def _uplift_chart(
    key: str,
    label: str,
    uplift: Uplift | None,
    scale: int,
    places: int,
    t: Mapping[str, str],
    number: Number,
) -> Markup | None:
    if uplift is None or uplift.diff is None or uplift.ci95 is None:
        return None
    low, high = (v * scale for v in uplift.ci95)
    diff = uplift.diff * scale

    def show(value: float) -> str:
        return ("+" if value > 0 else "") + number(value, places)

    verdict = t["clear"] if uplift.conclusive else t["unclear"]
    if not uplift.enough_data:
        verdict = uplift.note
    return interval_chart(
        [Interval(label, diff, low, high)],
        chart_id=f"uplift-{key}",
        title=f"{t['uplift']}: {label}",
        description=t["uplift_desc"].format(
            label=label, diff=show(diff), low=show(low), high=show(high), verdict=verdict
        ),
        show=show,
    )
