"""The operator's dashboard in the admin: charts over a period, each with its table and its CSV, for staff who
hold "view insights". It stands in for the rollup model's change list, so it has its place in the admin index."""

from __future__ import annotations

import csv
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from chat.models import ChatModel
from insights.charts import draw
from insights.models import DailyUsage
from insights.retention import retention_plan
from insights.selectors import CHARTS, PERIODS, Filters
from insights.services import rollup_refresh_recent

PERMISSION = "insights.view_insights"


class FilterForm(forms.Form):
    period = forms.ChoiceField(choices=[(p, p.title()) for p in PERIODS], required=False)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    model = forms.ModelChoiceField(ChatModel.objects.all(), required=False, empty_label="All models")
    user = forms.CharField(required=False, max_length=150, label="User", help_text="A username")

    def filters(self) -> Filters:
        """The chosen filters; the last 30 days by day where nothing (valid) is chosen."""
        data = self.cleaned_data if self.is_valid() else {}
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - timedelta(days=29)
        user_id = None
        if data.get("user"):
            user_id = get_user_model().objects.filter(username=data["user"]).values_list("pk", flat=True).first() or -1
        model = data.get("model")
        return Filters(start=min(start, end), end=end, period=data.get("period") or "day",
                       chat_model_id=model.pk if model else None, user_id=user_id)  # fmt: skip


@admin.register(DailyUsage)
class InsightsAdmin(admin.ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.has_perm(PERMISSION)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path("<slug:chart>/table/", self.admin_site.admin_view(self.table_view), name="insights-table"),
            path("<slug:chart>/csv/", self.admin_site.admin_view(self.csv_view), name="insights-csv"),
            *super().get_urls(),
        ]

    def _filters(self, request: HttpRequest) -> tuple[FilterForm, Filters]:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = FilterForm(request.GET or None)
        filters = form.filters()
        if not form.is_bound:  # show what the defaults chose
            form = FilterForm(initial={"period": filters.period, "start": filters.start, "end": filters.end})
        rollup_refresh_recent()
        return form, filters

    def changelist_view(self, request: HttpRequest, extra_context=None) -> TemplateResponse:
        form, filters = self._filters(request)
        charts = [(data, draw(data)) for data in (chart(filters) for chart in CHARTS.values())]
        retention = retention_plan() if settings.RETENTION_RECORDINGS_DAYS or settings.RETENTION_CHATS_DAYS else None
        context = {**self.admin_site.each_context(request), "title": "Insights", "form": form, "filters": filters,
                   "charts": charts, "retention": retention, "query": request.GET.urlencode(),
                   "opts": self.model._meta}  # fmt: skip
        return TemplateResponse(request, "admin/insights/dashboard.html", context)

    def _chart(self, request: HttpRequest, chart: str):
        if chart not in CHARTS:
            raise Http404("No such chart.")
        form, filters = self._filters(request)
        return CHARTS[chart](filters)

    def table_view(self, request: HttpRequest, chart: str) -> TemplateResponse:
        data = self._chart(request, chart)
        context = {**self.admin_site.each_context(request), "title": data.title, "chart": data,
                   "query": request.GET.urlencode(), "opts": self.model._meta}  # fmt: skip
        return TemplateResponse(request, "admin/insights/table.html", context)

    def csv_view(self, request: HttpRequest, chart: str) -> HttpResponse:
        data = self._chart(request, chart)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="insights-{data.slug}.csv"'
        writer = csv.writer(response)
        writer.writerow(data.columns)
        writer.writerows(["" if value is None else value for value in row] for row in data.rows)
        return response
