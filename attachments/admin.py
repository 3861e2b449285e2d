from django.contrib import admin

from .models import Attachment


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    """Read-only: the file itself is downloaded from the case page (need-to-know, logged);
    the admin shows neither a link to it nor a way to replace it."""

    list_display = ("case", "kind", "original_name", "size", "uploaded_by", "created_at")
    list_filter = ("kind",)
    search_fields = ("case__id",)
    fields = (
        "case",
        "conversation",
        "kind",
        "original_name",
        "content_type",
        "size",
        "uploaded_by",
        "created_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
