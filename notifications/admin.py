from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = (
        "event",
        "recipient",
        "case",
        "status",
        "attempts",
        "created_at",
        "sent_at",
        "read_at",
    )
    list_filter = ("status", "event")
    search_fields = ("recipient__username", "recipient__last_name", "case__id", "event")
    date_hierarchy = "created_at"
    raw_id_fields = ("case",)
    autocomplete_fields = ("recipient", "actor")
    readonly_fields = ("dedupe_key", "claimed_at", "sent_at", "attempts", "last_error")
    list_select_related = ("recipient", "case")
