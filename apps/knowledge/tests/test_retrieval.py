"""Hybrid retrieval on real pgvector: quality on the shipped corpus, scoping, and the runtime's entry point."""
from __future__ import annotations

import pytest
from django.db import connection

from apps.knowledge import services
from apps.knowledge.selectors import RetrievedChunk, knowledge_base_search, knowledge_search
from apps.knowledge.tests.conftest import CORPUS, corpus_file
from apps.knowledge.tests.factories import KnowledgeBaseFactory

CORPUS_FILES = ["handbook.pdf", "teas.csv", "nightjar.md", "greenhouse.html", "planets.json", "travel-policy.docx"]

# (question, the file holding the answer, a phrase of the right chunk)
QUESTIONS = [
    ("When does the makerspace open on weekdays?", "handbook.pdf", "7 am"),
    ("How much does it cost to replace a lost key fob?", "handbook.pdf", "15 dollars"),
    ("Which materials are not allowed in the laser cutter?", "handbook.pdf", "PVC and vinyl"),
    ("What kind of fire extinguisher is next to the laser?", "handbook.pdf", "carbon dioxide"),
    ("How much is 3D printing filament per gram?", "handbook.pdf", "five cents per gram"),
    ("What is the monthly price of a student membership?", "handbook.pdf", "students pay 25 dollars"),
    ("How much notice do I need to give to cancel my membership?", "handbook.pdf", "thirty days"),
    ("Which tea is smoked over pinewood fires?", "teas.csv", "Lapsang"),
    ("Where is the matcha shipped from?", "teas.csv", "Ceremonial Matcha"),
    ("Is there a caffeine free herbal tea?", "teas.csv", "Alpine Peppermint"),
    ("Which tea has cardamom and ginger?", "teas.csv", "Masala Chai"),
    ("What does the Darjeeling first flush taste like?", "teas.csv", "muscatel"),
    ("Which port does Nightjar listen on?", "nightjar.md", "7443"),
    ("How long are Nightjar backups kept?", "nightjar.md", "35 days"),
    ("What does error E-42 mean?", "nightjar.md", "E-42"),
    ("How long must NIGHTJAR_SECRET be?", "nightjar.md", "32 characters"),
    ("When are the tomato beds watered?", "greenhouse.html", "drip irrigation"),
    ("Which plants are forbidden in the greenhouse plots?", "greenhouse.html", "knotweed"),
    ("What is the tallest volcano in the solar system?", "planets.json", "Olympus Mons"),
    ("Which planet would float in water?", "planets.json", "less dense than water"),
    ("How much can I spend on a hotel per night?", "travel-policy.docx", "180 euros"),
    ("Can I expense alcohol with my meals on a business trip?", "travel-policy.docx", "alcohol is never reimbursed"),
    ("What class should I fly on a short flight?", "travel-policy.docx", "economy class"),
]


@pytest.fixture
def corpus_kb(alice):
    # Small chunks so each file splits into several and the test is about picking the right one.
    kb = KnowledgeBaseFactory(owner=alice, chunk_size=160, chunk_overlap=30)
    for name in CORPUS_FILES:
        document = services.document_create(owner=alice, upload=corpus_file(name), knowledge_base=kb, queue=False)
        services.document_ingest(document_id=document.pk)
    return kb


@pytest.mark.django_db
def test_the_right_chunk_is_in_the_top_three_for_every_corpus_question(alice, corpus_kb):
    assert corpus_kb.documents.filter(status="ingested").count() == len(CORPUS_FILES)
    misses = []
    for question, filename, phrase in QUESTIONS:
        results = knowledge_base_search(user=alice, knowledge_base=corpus_kb, query=question, top_k=3)
        if not any(r.filename == filename and phrase in r.content for r in results):
            misses.append((question, [(r.filename, r.content[:60]) for r in results]))
    assert len(QUESTIONS) >= 20
    assert misses == []


@pytest.mark.django_db
def test_results_carry_pages_rows_and_descending_fused_scores(alice, corpus_kb):
    results = knowledge_base_search(user=alice, knowledge_base=corpus_kb, query="laser cutter PVC chlorine", top_k=5)
    assert isinstance(results[0], RetrievedChunk)
    assert results[0].filename == "handbook.pdf" and results[0].page == 2 and results[0].row is None
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    # Found by both the vector and the text ranking: more than one list's 1/(60+1).
    assert results[0].score > 1 / 61
    [row_hit] = knowledge_base_search(user=alice, knowledge_base=corpus_kb, query="Silver Needle white tea buds", top_k=1)
    assert row_hit.filename == "teas.csv" and row_hit.row == 7 and row_hit.page is None


@pytest.mark.django_db
def test_knowledge_search_covers_the_library_the_thread_and_the_given_bases(alice):
    kb = KnowledgeBaseFactory(owner=alice)
    for upload, scope in [
        (corpus_file("teas.csv"), {}),
        (corpus_file("nightjar.md"), {"thread_id": "thread-a"}),
        (corpus_file("travel-policy.docx"), {"knowledge_base": kb}),
    ]:
        document = services.document_create(owner=alice, upload=upload, queue=False, **scope)
        services.document_ingest(document_id=document.pk)

    def files(**kwargs) -> set[str]:
        return {r.filename for r in knowledge_search(user=alice, query="tea port hotel", top_k=20, **kwargs)}

    assert files() == {"teas.csv"}
    assert files(thread_id="thread-a") == {"teas.csv", "nightjar.md"}
    assert files(knowledge_base_ids=[str(kb.pk)]) == {"teas.csv", "travel-policy.docx"}
    assert files(knowledge_base_ids=[str(kb.pk)], include_default_library=False) == {"travel-policy.docx"}
    assert files(thread_id="another-thread", include_default_library=False) == set()


@pytest.mark.django_db
def test_knowledge_search_never_returns_another_users_chunks(alice, bob):
    alice_kb = KnowledgeBaseFactory(owner=alice)
    document = services.document_create(owner=alice, upload=corpus_file("teas.csv"), knowledge_base=alice_kb, queue=False)
    services.document_ingest(document_id=document.pk)
    services.document_ingest(
        document_id=services.document_create(owner=alice, upload=corpus_file("nightjar.md"), queue=False).pk
    )
    services.document_ingest(
        document_id=services.document_create(owner=alice, upload=corpus_file("handbook.pdf"), thread_id="t", queue=False).pk
    )
    assert knowledge_search(user=bob, query="tea", knowledge_base_ids=[str(alice_kb.pk)], thread_id="t") == []
    assert knowledge_search(user=None, query="tea") == []


@pytest.mark.django_db
def test_only_ingested_chunks_are_searched(alice):
    document = services.document_create(owner=alice, upload=corpus_file("teas.csv"), queue=False)
    services.document_ingest(document_id=document.pk)
    document.status = "processing"
    document.save(update_fields=["status"])
    assert knowledge_search(user=alice, query="matcha") == []


@pytest.mark.django_db
def test_an_empty_or_odd_query_returns_nothing_rather_than_failing(alice, corpus_kb):
    assert knowledge_search(user=alice, query="   ") == []
    assert knowledge_search(user=alice, query="matcha", knowledge_base_ids=["not-a-uuid"]) == []
    results = knowledge_base_search(user=alice, knowledge_base=corpus_kb, query='"unbalanced OR -( :*', top_k=3)
    assert isinstance(results, list)


@pytest.mark.django_db
def test_the_vector_query_uses_the_hnsw_index(alice, corpus_kb):
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM knowledge_chunk ORDER BY embedding <=> %s::vector LIMIT 5", [str([0.05] * 384)]
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "chunk_embedding_hnsw" in plan


def test_the_corpus_ships_every_file_the_questions_name():
    assert {filename for _, filename, _ in QUESTIONS} <= {p.name for p in CORPUS.iterdir()}


@pytest.mark.django_db
def test_the_hnsw_path_finds_what_the_exact_path_finds(alice, corpus_kb, monkeypatch):
    from apps.knowledge import selectors

    exact = knowledge_base_search(user=alice, knowledge_base=corpus_kb, query="Which port does Nightjar use?", top_k=3)
    # Pretend the scope is large so the HNSW index (with the iterative scan) answers instead.
    monkeypatch.setattr(selectors, "EXACT_SEARCH_MAX_CHUNKS", 0)
    approximate = knowledge_base_search(user=alice, knowledge_base=corpus_kb, query="Which port does Nightjar use?", top_k=3)
    assert approximate[0].chunk_id == exact[0].chunk_id
    assert "7443" in approximate[0].content
