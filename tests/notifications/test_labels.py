"""The label registry: apps above register their events' labels; the core's stay the core's."""

import pytest
from django.utils import translation

from cases.models import EVENT_LABELS
from notifications.labels import label_for, register_labels, register_reminders


def test_a_core_event_reads_as_the_core_labels_it_and_an_unknown_one_as_its_name():
    with translation.override("en"):
        assert label_for("plan_conversation") == str(EVENT_LABELS["plan_conversation"])
    assert label_for("no-such-event") == "no-such-event"


def test_an_app_cannot_register_a_core_event_again():
    with pytest.raises(ValueError, match="plan_conversation"):
        register_labels({"plan_conversation": "something else"})
    with pytest.raises(ValueError, match="resolve"):
        register_reminders({"resolve": None})
