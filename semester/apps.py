from django.apps import AppConfig


class SemesterConfig(AppConfig):
    """A real semester: the office imports its placements from the student administration's or
    the placement matching's file (preview, then all or nothing). A top-layer app: it uses the
    core's people, schools, placements and timeline; nothing imports it."""

    name = "semester"
    verbose_name = "Semester"
