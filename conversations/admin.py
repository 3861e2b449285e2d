from django.contrib import admin

from .models import Conversation, ImprovementAction, Invitation, StudentNote


class InvitationInline(admin.TabularInline):
    model = Invitation
    extra = 0
    autocomplete_fields = ("person", "briefed_by")


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("case", "kind", "status", "starts_at", "location", "planned_by")
    list_filter = ("kind", "status")
    search_fields = ("case__id", "location", "summary")
    date_hierarchy = "starts_at"
    inlines = (InvitationInline,)
    raw_id_fields = ("case",)
    autocomplete_fields = ("planned_by", "recorded_by")
    readonly_fields = ("ical_uid", "ical_sequence")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("conversation", "person", "role", "attended", "briefed_at", "read_summary_at")
    list_filter = ("role", "attended")
    search_fields = ("person__username", "person__last_name", "conversation__case__id")
    raw_id_fields = ("conversation",)
    autocomplete_fields = ("person", "briefed_by")


@admin.register(StudentNote)
class StudentNoteAdmin(admin.ModelAdmin):
    list_display = ("conversation", "submitted_at", "logged_in_onstage_on", "updated_at")
    list_filter = ("submitted_at",)
    search_fields = ("text", "conversation__case__id")
    raw_id_fields = ("conversation",)


@admin.register(ImprovementAction)
class ImprovementActionAdmin(admin.ModelAdmin):
    list_display = ("description", "case", "owner", "due_date", "status", "evaluation")
    list_filter = ("status", "evaluation")
    search_fields = ("description", "owner__username", "owner__last_name", "case__id")
    date_hierarchy = "due_date"
    raw_id_fields = ("case", "conversation")
    autocomplete_fields = ("owner",)
