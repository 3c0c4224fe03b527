"""The offline engines on their own: espeak-ng, the MP3 encoder, the writer, the deck builder."""
from __future__ import annotations

import io

import pytest
from pptx import Presentation

from apps.core.errors import Invalid
from apps.studio.engines import audio, slides, speech, writing
from apps.studio.tests.conftest import REPORT, mp3_seconds

SENTENCE = "The quick brown fox jumps over the lazy dog while the farmer watches from the old wooden gate."


def test_it_speaks_for_as_long_as_the_text_implies(tmp_path):
    pcm = speech.espeak_synthesize(SENTENCE, voice="en-us")
    expected = len(SENTENCE.split()) / speech.BASE_WORDS_PER_MINUTE * 60
    seconds = mp3_seconds(audio.to_mp3(pcm), tmp_path)
    assert expected * 0.6 < seconds < expected * 1.8
    assert abs(seconds - pcm.seconds) < 0.2


def test_faster_speech_is_shorter():
    normal = speech.espeak_synthesize(SENTENCE, voice="en-us", speed=1.0).seconds
    fast = speech.espeak_synthesize(SENTENCE, voice="en-us", speed=2.0).seconds
    assert fast < normal * 0.75


def test_it_lists_voices_and_picks_one_per_language():
    ids = {voice.id for voice in speech.voices()}
    assert {"en-us", "de", "fr-fr"} <= ids
    assert speech.resolve_voice("en-US-Standard-A") == "en-us"
    assert speech.resolve_voice("pt-BR") == "pt-br"
    assert speech.resolve_voice("", locale="de-DE") == "de"
    assert speech.resolve_voice("en-us+f3") == "en-us+f3"


@pytest.mark.parametrize("voice", ["klingon", "en-us+nosuchvariant", "en-us+../x"])
def test_it_rejects_unknown_voices(voice):
    with pytest.raises(Invalid) as error:
        speech.resolve_voice(voice)
    assert "voice" in error.value.field_errors


def test_joined_audio_has_the_pauses_between_parts():
    one = audio.silence(1.0, rate=22050)
    joined = audio.join([one, one, one], pause_seconds=0.5)
    assert joined.seconds == pytest.approx(4.0, abs=0.01)


def test_the_offline_script_alternates_hosts_over_the_key_sentences():
    script = writing.offline_script(REPORT)
    speakers = [line.speaker for line in script]
    assert all(a != b for a, b in zip(speakers, speakers[1:], strict=False))
    spoken = " ".join(line.text for line in script)
    assert "Quarterly Report" in script[0].text
    assert "Latency fell by half." in spoken and "Sales rose by twenty percent in Europe." in spoken
    assert "##" not in spoken


def test_a_model_script_is_validated():
    good = '{"speaker": "host_a", "text": "Hi"}\n{"speaker": "host_b", "text": "Hello"}'
    assert [line.speaker for line in writing.parse_script(f"```json\n{good}\n```")] == ["host_a", "host_b"]
    for bad in ["not json", '{"speaker": "host_c", "text": "x"}', '{"speaker": "host_a", "text": ""}', ""]:
        with pytest.raises(writing.BadModelAnswer):
            writing.parse_script(bad)


def test_the_deck_has_a_title_slide_and_one_slide_per_section():
    data = slides.build_deck(writing.offline_outline(REPORT))
    deck = Presentation(io.BytesIO(data))
    titles = [slide.shapes.title.text for slide in deck.slides]
    assert titles == ["Quarterly Report", "Sales", "Engineering"]
    body = deck.slides[2].placeholders[1].text_frame.text
    assert "Latency fell by half." in body
    assert "Latency" in deck.slides[2].notes_slide.notes_text_frame.text


def test_a_model_outline_is_validated():
    outline = writing.parse_outline('{"title": "T", "slides": [{"title": "A", "bullets": ["x"], "notes": "n"}]}')
    assert outline.slides[0].bullets == ("x",)
    for bad in ["[]", '{"title": "T", "slides": []}', '{"title": "T", "slides": [{"bullets": []}]}']:
        with pytest.raises(writing.BadModelAnswer):
            writing.parse_outline(bad)


def test_the_offline_editor_edits_for_real():
    text = "the the cat sat on the mat . i think it was happy. It purred all afternoon in the sun."
    assert writing.offline_prose(text, option="fix") == "The cat sat on the mat. I think it was happy. It purred all afternoon in the sun."
    assert len(writing.offline_prose(text, option="shorter")) < len(text)
    assert len(writing.offline_prose(text, option="longer")) > len(text)
    assert writing.offline_prose(text, option="zap", command="make it shorter") == writing.offline_prose(text, option="shorter")
