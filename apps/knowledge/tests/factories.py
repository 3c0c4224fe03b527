"""Factories for knowledge data."""
from __future__ import annotations

import hashlib

import factory
from django.core.files.base import ContentFile

from apps.accounts.tests.factories import UserFactory
from apps.knowledge.models import Document, IngestTask, KnowledgeBase

DEFAULT_TEXT = b"The quick brown fox jumps over the lazy dog. Foxes are quick and clever animals."


class KnowledgeBaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KnowledgeBase

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Knowledge base {n}")
    intro = "Things worth knowing."


class IngestTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IngestTask

    knowledge_base = factory.SubFactory(KnowledgeBaseFactory)
    owner = factory.SelfAttribute("knowledge_base.owner")


class DocumentFactory(factory.django.DjangoModelFactory):
    """A stored, queued document; pass ``content=b"..."`` and ``filename`` to choose the file."""

    class Meta:
        model = Document

    class Params:
        content = DEFAULT_TEXT

    owner = factory.SubFactory(UserFactory)
    filename = factory.Sequence(lambda n: f"notes-{n}.txt")
    title = factory.SelfAttribute("filename")
    content_type = "text/plain"
    size = factory.LazyAttribute(lambda o: len(o.content))
    checksum = factory.LazyAttribute(lambda o: hashlib.sha256(o.content).hexdigest())
    file = factory.LazyAttribute(lambda o: ContentFile(o.content, name=o.filename))
