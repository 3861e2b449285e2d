import factory
from django.core.files.base import ContentFile
from factory.django import DjangoModelFactory

from attachments.models import Attachment
from tests.cases.factories import CaseFactory

from .files import pdf


class AttachmentFactory(DjangoModelFactory):
    """A PDF on a case, uploaded by its student (`medical=True`: a doctor's note)."""

    class Meta:
        model = Attachment

    case = factory.SubFactory(CaseFactory, improving=True)
    kind = Attachment.Kind.IMPROVEMENT_PLAN
    original_name = "verbeterplan.pdf"
    content_type = "application/pdf"
    file = factory.LazyAttribute(lambda a: ContentFile(pdf(), name="x.pdf"))
    size = factory.LazyAttribute(lambda a: a.file.size)
    uploaded_by = factory.SelfAttribute("case.placement.student")

    class Params:
        medical = factory.Trait(kind=Attachment.Kind.MEDICAL, original_name="verklaring.pdf")
