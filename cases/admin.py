from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from .models import (
    Board,
    Case,
    CaseCategory,
    CaseClosureCount,
    CaseEvent,
    CaseStateCount,
    Deputy,
    Partnership,
    Placement,
    TrainingSchool,
    User,
)
from .validators import validate_single_line


class SingleLineFieldsMixin:
    """Names, addresses and numbers on one line: a line break or another control character is
    refused with a message (it would break an e-mail header, a calendar file or an export)."""

    single_line_fields = ("first_name", "last_name", "email", "student_number", "name", "city")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.single_line_fields:
            field = self.fields.get(name)
            if field is not None and validate_single_line not in field.validators:
                field.validators.append(validate_single_line)


class UserChangeAdminForm(SingleLineFieldsMixin, UserChangeForm):
    pass


class UserCreationAdminForm(SingleLineFieldsMixin, AdminUserCreationForm):
    pass


class SingleLineModelForm(SingleLineFieldsMixin, forms.ModelForm):
    pass


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Stagebureau"), {"fields": ("student_number", "language")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Stagebureau"), {"fields": ("first_name", "last_name", "email", "student_number")}),
    )
    list_display = (
        "username",
        "first_name",
        "last_name",
        "email",
        "student_number",
        "is_staff",
        "is_active",
    )
    list_filter = (*BaseUserAdmin.list_filter, "language")
    search_fields = (*BaseUserAdmin.search_fields, "student_number")


@admin.register(Partnership)
class PartnershipAdmin(admin.ModelAdmin):
    form = SingleLineModelForm
    list_display = ("name",)
    search_fields = ("name",)


@admin.register(Board)
class BoardAdmin(admin.ModelAdmin):
    form = SingleLineModelForm
    list_display = ("name", "partnership")
    list_filter = ("partnership",)
    search_fields = ("name",)


@admin.register(TrainingSchool)
class TrainingSchoolAdmin(admin.ModelAdmin):
    form = SingleLineModelForm
    list_display = ("name", "brin", "code", "board", "city", "region", "coordinating_trainer")
    list_filter = ("region", "board")
    search_fields = ("name", "brin", "code", "city", "board__name")
    autocomplete_fields = ("coordinating_trainer",)


@admin.register(Placement)
class PlacementAdmin(admin.ModelAdmin):
    list_display = (
        "student",
        "school",
        "mentor",
        "school_trainer",
        "study_coach",
        "start_date",
        "status",
    )
    list_filter = ("status", "school__region", "school")
    search_fields = (
        "student__first_name",
        "student__last_name",
        "student__username",
        "student__student_number",
        "school__name",
    )
    date_hierarchy = "start_date"
    autocomplete_fields = (
        "student",
        "school",
        "mentor",
        "school_trainer",
        "study_coach",
        "coordinating_trainer",
    )
    list_select_related = ("student", "school", "mentor", "school_trainer", "study_coach")


class CaseCategoryInline(admin.TabularInline):
    model = CaseCategory
    extra = 0


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ("at", "name", "from_state", "to_state", "actor", "on_behalf_of", "note")
    readonly_fields = fields
    ordering = ("at", "pk")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("number", "student", "school", "state", "signalled_by", "signalled_at")
    list_filter = ("state", "categories__category", "placement__school__region")
    search_fields = (
        "pk",
        "description",
        "placement__student__first_name",
        "placement__student__last_name",
        "placement__student__username",
        "placement__school__name",
    )
    date_hierarchy = "signalled_at"
    # The state moves only through the state machine (protected field): never edited here.
    readonly_fields = ("state", "state_changed_at", "closed_at", "version")
    autocomplete_fields = ("placement", "signalled_by")
    inlines = (CaseCategoryInline, CaseEventInline)
    list_select_related = ("placement__student", "placement__school", "signalled_by")

    @admin.display(description=_("student"), ordering="placement__student__last_name")
    def student(self, obj: Case):
        return obj.placement.student

    @admin.display(description=_("training school"), ordering="placement__school__name")
    def school(self, obj: Case):
        return obj.placement.school


@admin.register(CaseEvent)
class CaseEventAdmin(admin.ModelAdmin):
    """The timeline is append-only: readable here, never added, changed or deleted."""

    list_display = ("case", "at", "name", "from_state", "to_state", "actor", "on_behalf_of")
    list_filter = ("kind", "name", "to_state")
    search_fields = ("case__id", "note", "actor__username", "actor__last_name")
    date_hierarchy = "at"
    list_select_related = ("case", "actor", "on_behalf_of")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CaseCategory)
class CaseCategoryAdmin(admin.ModelAdmin):
    list_display = ("case", "category")
    list_filter = ("category",)
    search_fields = ("case__id",)
    raw_id_fields = ("case",)


@admin.register(Deputy)
class DeputyAdmin(admin.ModelAdmin):
    """Correcting or ending a deputyship early (the office names them on its own page)."""

    list_display = ("person", "role", "starts_on", "ends_on", "named_by")
    list_filter = ("role",)
    raw_id_fields = ("person", "named_by")


class CounterAdmin(admin.ModelAdmin):
    """The counters the database keeps: read only."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CaseStateCount)
class CaseStateCountAdmin(CounterAdmin):
    """Cases per state."""

    list_display = ("state", "count")


@admin.register(CaseClosureCount)
class CaseClosureCountAdmin(CounterAdmin):
    """Cases closed per day (UTC) and state."""

    list_display = ("day", "state", "count")
    list_filter = ("state",)
    date_hierarchy = "day"
