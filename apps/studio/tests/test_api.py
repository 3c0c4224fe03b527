"""003's TTS and generation routes, end to end through HTTP."""
from __future__ import annotations

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asgiref.sync import async_to_sync
from pptx import Presentation

from apps.studio.engines import audio, speech
from apps.studio.models import GenerationJob
from apps.studio.tests.conftest import REPORT, mp3_seconds

TTS = "/api/v1/agent/tts/synthesize"
PODCAST = "/api/v1/agent/generation/podcast"
PPT = "/api/v1/agent/generation/ppt"
PROSE = "/api/v1/agent/generation/prose"
ENHANCE = "/api/v1/agent/generation/enhance-prompt"

pytestmark = pytest.mark.django_db


def _body(response) -> bytes:
    if not response.streaming:
        return response.content
    if response.is_async:
        async def collect() -> bytes:
            return b"".join([piece async for piece in response.streaming_content])

        return async_to_sync(collect)()
    return b"".join(response.streaming_content)


def _sse(response) -> list[tuple[str, dict]]:
    frames = []
    for block in _body(response).decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in lines:
            frames.append((lines.get("event", ""), json.loads(lines["data"])))
    return frames


# ------------------------------------------------------------------------------
# TTS
# ------------------------------------------------------------------------------
def test_it_synthesizes_an_mp3_that_lasts_as_long_as_the_text(alice_client, tmp_path):
    text = "Hello world. This sentence is spoken by the offline speech engine of the platform."
    response = alice_client.post(TTS, {"text": text, "voice": "en-US-Standard-A", "speed": 1.0}, format="json")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/mpeg"
    assert response["X-TTS-Engine"] == "espeak-ng:en-us"
    expected = len(text.split()) / speech.BASE_WORDS_PER_MINUTE * 60
    assert expected * 0.6 < mp3_seconds(_body(response), tmp_path) < expected * 1.8
    job = GenerationJob.objects.get()
    assert job.kind == "speech" and job.status == "succeeded" and job.result_file


def test_it_answers_wav_when_asked(alice_client):
    response = alice_client.post(TTS, {"text": "Guten Tag", "voice": "de", "format": "wav"}, format="json")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert audio.pcm_from_wav(_body(response)).seconds > 0.3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "   "}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"text": "hi", "voice": "klingon"}, "voice"),
        ({"text": "hi", "speed": 9}, "speed"),
        ({"text": "hi", "format": "ogg"}, "format"),
    ],
)
def test_it_refuses_bad_speech_requests(alice_client, body, field):
    response = alice_client.post(TTS, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"]
    assert field in response.json()["errors"]


class _SpeechEndpoint(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        data = audio.to_wav(audio.silence(0.5, rate=16000))
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def speech_endpoint(settings):
    _SpeechEndpoint.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SpeechEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.TTS_BASE_URL = f"http://127.0.0.1:{server.server_port}/v1"
    settings.TTS_API_KEY = "sk-speech"
    yield _SpeechEndpoint.requests
    server.shutdown()


def test_a_configured_speech_endpoint_replaces_espeak(alice_client, speech_endpoint):
    response = alice_client.post(TTS, {"text": "Hello", "voice": "nova", "format": "wav"}, format="json")
    assert response.status_code == 200
    assert response["X-TTS-Engine"] == "endpoint:tts-1"
    assert audio.pcm_from_wav(_body(response)).seconds == pytest.approx(0.5)
    assert speech_endpoint == [{"path": "/v1/audio/speech", "auth": "Bearer sk-speech", "model": "tts-1",
                                "input": "Hello", "voice": "nova", "speed": 1.0, "response_format": "wav"}]


def test_speech_needs_a_login(anon):
    assert anon.post(TTS, {"text": "hi"}, format="json").status_code == 401


def test_it_lists_voices(alice_client, anon):
    response = alice_client.get("/api/v1/agent/tts/voices")
    assert response.status_code == 200
    assert {"id": "en-us", "language": "en-us", "name": "English (America)", "gender": "male"} in response.json()
    assert anon.get("/api/v1/agent/tts/voices").status_code == 401


# ------------------------------------------------------------------------------
# Podcast and PPT: jobs on a real Celery worker
# ------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_it_makes_a_podcast_mp3_from_a_report(celery_worker_process, alice, client_for, tmp_path):
    response = client_for(alice).post(PODCAST, {"content": REPORT}, format="json")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "audio/mpeg"
    job = GenerationJob.objects.get(pk=response["X-Job-Id"])
    assert job.status == "succeeded" and job.progress == 1.0 and job.engine == "offline writer + espeak-ng"
    lines = job.result_text.splitlines()
    assert lines[0].startswith("host_a: Welcome") and lines[1].startswith("host_b: ")
    # Every line spoken, with pauses: a dozen lines of speech last well over ten seconds.
    assert mp3_seconds(_body(response), tmp_path) > 2 * len(lines)


@pytest.mark.django_db(transaction=True)
def test_a_deck_job_can_be_polled_and_downloaded(celery_worker_process, alice, bob, client_for):
    alice_client = client_for(alice)
    response = alice_client.post(PPT, {"content": REPORT, "locale": "en-US"}, format="json",
                                 HTTP_PREFER="respond-async")
    assert response.status_code == 202
    job_url = f"/api/v1/agent/generation/jobs/{response.json()['job_id']}"
    deadline = time.monotonic() + 60
    while (state := alice_client.get(job_url).json())["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert state["status"] == "succeeded" and state["progress"] == 1.0
    assert client_for(bob).get(job_url).status_code == 404
    assert client_for(bob).get(state["download_url"]).status_code == 404
    download = alice_client.get(state["download_url"])
    assert download.status_code == 200
    deck = Presentation(io.BytesIO(_body(download)))
    assert [slide.shapes.title.text for slide in deck.slides] == ["Quarterly Report", "Sales", "Engineering"]


def test_a_queued_job_can_be_cancelled(alice_client, alice, bob_client):
    job = GenerationJob.objects.create(owner=alice, kind="podcast", input={"content": REPORT})
    assert bob_client.post(f"/api/v1/agent/generation/jobs/{job.pk}/cancel").status_code == 404
    response = alice_client.post(f"/api/v1/agent/generation/jobs/{job.pk}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert alice_client.get(f"/api/v1/agent/generation/jobs/{job.pk}/download").status_code == 404


def test_a_running_job_stops_at_its_next_step(alice):
    from apps.studio import services

    job = GenerationJob.objects.create(owner=alice, kind="podcast", input={"content": REPORT}, cancel_requested=True)
    services.job_execute(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.status == "cancelled" and not job.result_file


@pytest.mark.parametrize("path", [PODCAST, PPT])
def test_generation_refuses_empty_content(alice_client, anon, path):
    response = alice_client.post(path, {"content": ""}, format="json")
    assert response.status_code == 400 and "content" in response.json()["errors"]
    assert anon.post(path, {"content": REPORT}, format="json").status_code == 401
    assert not GenerationJob.objects.exists()


def test_the_model_writes_the_podcast_script_and_gets_one_retry(alice, fake_llm):
    from apps.studio import services

    fake_llm.make_provider(owner=alice)
    fake_llm.script("Sure! Here is a script.",
                    '{"speaker": "host_a", "text": "Hi there."}\n{"speaker": "host_b", "text": "Hello back."}')
    job = GenerationJob.objects.create(owner=alice, kind="podcast", input={"content": REPORT})
    services.job_execute(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert job.result_text == "host_a: Hi there.\nhost_b: Hello back."
    assert "invalid" in fake_llm.chat_requests[1]["messages"][-1]["content"]


def test_a_model_that_fails_twice_fails_the_job_with_the_reason(alice, fake_llm):
    from apps.studio import services

    fake_llm.make_provider(owner=alice)
    fake_llm.script("no", "still no")
    job = GenerationJob.objects.create(owner=alice, kind="slides", input={"content": REPORT})
    services.job_execute(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.status == "failed" and "invalid twice" in job.error
    assert job.error_status == 424  # alice's own provider and model: hers to change


def test_the_model_writes_the_deck_outline(alice, fake_llm):
    from apps.studio import services

    fake_llm.make_provider(owner=alice)
    outline = {"title": "Q3", "subtitle": "Results", "slides": [{"title": "Money", "bullets": ["Up"], "notes": "n"}]}
    fake_llm.script(json.dumps(outline))
    job = GenerationJob.objects.create(owner=alice, kind="slides", input={"content": REPORT})
    services.job_execute(job_id=str(job.pk))
    job.refresh_from_db()
    deck = Presentation(job.result_file.open("rb"))
    assert [slide.shapes.title.text for slide in deck.slides] == ["Q3", "Money"]


# ------------------------------------------------------------------------------
# Prose and enhance-prompt
# ------------------------------------------------------------------------------
def test_prose_streams_the_offline_edit(alice_client):
    response = alice_client.post(PROSE, {"prompt": "the the cat sat . i like it", "option": "fix"}, format="json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    frames = _sse(response)
    assert frames[0] == ("message_chunk", {"role": "assistant", "content": "The cat sat. I like it."})
    assert frames[-1][0] == "done"


def test_prose_streams_the_models_tokens(alice, alice_client, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script("A much better sentence.")
    frames = _sse(alice_client.post(PROSE, {"prompt": "bad sentence", "option": "improve"}, format="json"))
    assert "".join(data["content"] for event, data in frames if event == "message_chunk") == "A much better sentence."
    assert fake_llm.chat_requests[0]["messages"][0]["content"].startswith("Improve")


@pytest.mark.parametrize(
    ("body", "field"),
    [({"prompt": "x", "option": "rhyme"}, "option"), ({"prompt": "", "option": "fix"}, "prompt"),
     ({"prompt": "x", "option": "zap", "command": ""}, "command")],
)
def test_prose_refuses_bad_requests(alice_client, anon, body, field):
    response = alice_client.post(PROSE, body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert anon.post(PROSE, {"prompt": "x", "option": "fix"}, format="json").status_code == 401


def test_enhance_prompt_offline_is_a_deterministic_rewrite(alice_client, anon):
    first = alice_client.post(ENHANCE, {"prompt": "write a blog post about rust async"}, format="json")
    assert first.status_code == 200
    result = first.json()["result"]
    assert result.startswith("Task: Write a blog post about rust async.") and "rust" in result
    assert alice_client.post(ENHANCE, {"prompt": "write a blog post about rust async"}, format="json").json()["result"] == result
    assert alice_client.post(ENHANCE, {"prompt": ""}, format="json").status_code == 400
    assert anon.post(ENHANCE, {"prompt": "x"}, format="json").status_code == 401


def test_enhance_prompt_uses_the_model(alice, alice_client, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script("Write a 1,000-word post on async Rust for beginners.")
    response = alice_client.post(ENHANCE, {"prompt": "rust async post"}, format="json")
    assert response.json() == {"result": "Write a 1,000-word post on async Rust for beginners."}


def test_the_admin_lists_jobs_and_shows_one(admin_user, alice):
    from django.test import Client

    job = GenerationJob.objects.create(owner=alice, kind="podcast", input={"content": REPORT}, progress_note="Speaking")
    browser = Client()
    browser.force_login(admin_user)
    assert browser.get("/admin/studio/generationjob/").status_code == 200
    page = browser.get(f"/admin/studio/generationjob/{job.pk}/change/")
    assert page.status_code == 200 and b"Speaking" in page.content


def test_a_podcast_is_spoken_by_the_speech_endpoint_when_configured(alice, speech_endpoint):
    from apps.studio import services

    job = GenerationJob.objects.create(owner=alice, kind="podcast", input={"content": REPORT})
    services.job_execute(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.status == "succeeded" and job.engine == "offline writer + endpoint:tts-1"
    lines = job.result_text.splitlines()
    assert [request["voice"] for request in speech_endpoint] == [
        "onyx" if line.startswith("host_a") else "nova" for line in lines]
    assert {request["response_format"] for request in speech_endpoint} == {"wav"}


def test_a_users_own_provider_that_fails_is_a_424_and_the_installations_a_502(alice, alice_client, fake_llm,
                                                                               settings):
    # Found by fuzzing: a provider the fuzzer created with a made-up URL made enhance-prompt and the
    # generation routes answer 502, as if our upstream had failed. Its URL is the user's to fix.
    from apps.studio import services

    fake_llm.make_provider(owner=alice, base_url="http://127.0.0.1:1/v1")  # nothing listens there
    response = alice_client.post(ENHANCE, {"prompt": "write a haiku"}, format="json")
    assert response.status_code == 424, response.content
    assert "Your model provider failed" in response.json()["detail"]
    job = GenerationJob.objects.create(owner=alice, kind="slides", input={"content": REPORT})
    services.job_execute(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.status == "failed" and job.error_status == 424
    # The installation's own upstream (LLM_BASE_URL) failing is still a 502.
    from apps.providers.models import LLMProvider

    LLMProvider.objects.filter(owner=alice).delete()
    settings.LLM_BASE_URL, settings.LLM_MODEL, settings.LLM_API_KEY = "http://127.0.0.1:1/v1", "m", "k"
    assert alice_client.post(ENHANCE, {"prompt": "write a haiku"}, format="json").status_code == 502
