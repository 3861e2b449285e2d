from django.contrib import admin

from .models import (
    ChangeRequest,
    Handover,
    IsopAdvice,
    OfficeDecision,
    OutcomeReport,
    Position,
    Stop,
    StudyStep,
    Transfer,
    WrapUp,
)


@admin.register(ChangeRequest)
class ChangeRequestAdmin(admin.ModelAdmin):
    list_display = (
        "case",
        "kind",
        "requested_by",
        "created_at",
        "office_informed_at",
        "recorded_by_office",
    )
    list_filter = ("kind", "recorded_by_office")
    search_fields = ("case__id", "reason", "requested_by__last_name")
    raw_id_fields = ("case",)
    autocomplete_fields = ("requested_by", "office_informed_by", "made_known_to")


class PositionInline(admin.TabularInline):
    model = Position
    extra = 0
    autocomplete_fields = ("person",)


@admin.register(OutcomeReport)
class OutcomeReportAdmin(admin.ModelAdmin):
    list_display = ("case", "outcome", "reported_by", "on_behalf_of_school_trainer", "reported_at")
    list_filter = ("outcome", "on_behalf_of_school_trainer")
    search_fields = ("case__id", "note")
    raw_id_fields = ("case",)
    autocomplete_fields = ("reported_by",)
    inlines = (PositionInline,)


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    list_display = ("report", "person", "role", "stance")
    list_filter = ("role", "stance")
    search_fields = ("person__username", "person__last_name", "report__case__id")
    raw_id_fields = ("report",)
    autocomplete_fields = ("person",)


@admin.register(OfficeDecision)
class OfficeDecisionAdmin(admin.ModelAdmin):
    list_display = ("case", "decision", "decided_by", "decided_at")
    list_filter = ("decision",)
    search_fields = ("case__id", "reason")
    raw_id_fields = ("case", "advice")
    autocomplete_fields = ("decided_by",)


@admin.register(IsopAdvice)
class IsopAdviceAdmin(admin.ModelAdmin):
    list_display = ("case", "requested_at", "decision", "given_by", "given_at")
    list_filter = ("decision",)
    search_fields = ("case__id", "question", "rationale")
    raw_id_fields = ("case",)
    autocomplete_fields = ("given_by",)


@admin.register(WrapUp)
class WrapUpAdmin(admin.ModelAdmin):
    list_display = ("case", "last_day", "recorded_by", "recorded_at")
    list_filter = ("last_day",)
    search_fields = ("case__id", "agreement")
    raw_id_fields = ("case",)
    autocomplete_fields = ("recorded_by",)


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = ("case", "from_placement", "to_placement", "effective_date", "applied_at")
    list_filter = ("effective_date",)
    search_fields = ("case__id", "to_placement__school__name")
    raw_id_fields = ("case", "from_placement", "to_placement")
    autocomplete_fields = ("recorded_by",)


@admin.register(StudyStep)
class StudyStepAdmin(admin.ModelAdmin):
    list_display = ("case", "kind", "on", "recorded_by", "recorded_at")
    list_filter = ("kind",)
    search_fields = ("case__id",)
    raw_id_fields = ("case",)
    autocomplete_fields = ("recorded_by",)


@admin.register(Stop)
class StopAdmin(admin.ModelAdmin):
    list_display = ("case", "temporary", "expected_resume_date", "recorded_at", "resumed_at")
    list_filter = ("temporary",)
    search_fields = ("case__id",)
    raw_id_fields = ("case",)
    autocomplete_fields = ("recorded_by",)


@admin.register(Handover)
class HandoverAdmin(admin.ModelAdmin):
    list_display = (
        "case",
        "old_coach",
        "new_coach",
        "contact_made_on",
        "confirmed_at",
        "received_at",
    )
    list_filter = ("confirmed_at", "received_at")
    search_fields = ("case__id", "old_coach__last_name", "new_coach__last_name")
    raw_id_fields = ("case", "transfer")
    autocomplete_fields = ("old_coach", "new_coach")
