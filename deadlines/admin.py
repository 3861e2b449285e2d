from django.contrib import admin

from .models import DeadlineRule, SchoolHoliday


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(admin.ModelAdmin):
    list_display = ("key", "__str__", "remind_after", "escalate_after", "due_soon_before", "active")
    list_editable = ("remind_after", "escalate_after", "due_soon_before", "active")
    list_filter = ("active",)
    search_fields = ("key",)


@admin.register(SchoolHoliday)
class SchoolHolidayAdmin(admin.ModelAdmin):
    list_display = ("name", "region", "start_date", "end_date")
    list_filter = ("region",)
    search_fields = ("name",)
    date_hierarchy = "start_date"
