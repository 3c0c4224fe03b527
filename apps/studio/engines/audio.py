"""PCM audio as the engines pass it around: WAV in and out, silence, joining, MP3 encoding."""
from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import lameenc


@dataclass(frozen=True)
class Pcm:
    """Signed 16-bit little-endian mono samples."""

    samples: bytes
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / 2 / self.rate


def pcm_from_wav(data: bytes) -> Pcm:
    with wave.open(io.BytesIO(data), "rb") as reader:
        if reader.getsampwidth() != 2:
            raise ValueError("only 16-bit WAV is supported")
        frames = reader.readframes(reader.getnframes())
        if reader.getnchannels() == 2:
            # Keep the left channel: the engines only ever speak in mono.
            frames = b"".join(frames[i : i + 2] for i in range(0, len(frames), 4))
        return Pcm(samples=frames, rate=reader.getframerate())


def silence(seconds: float, *, rate: int) -> Pcm:
    return Pcm(samples=b"\x00\x00" * int(seconds * rate), rate=rate)


def join(parts: list[Pcm], *, pause_seconds: float = 0.0) -> Pcm:
    """One track of ``parts`` in order, with ``pause_seconds`` of silence between them."""
    if not parts:
        raise ValueError("nothing to join")
    rate = parts[0].rate
    if any(part.rate != rate for part in parts):
        raise ValueError("parts have different sample rates")
    gap = silence(pause_seconds, rate=rate).samples
    return Pcm(samples=gap.join(part.samples for part in parts), rate=rate)


def to_wav(pcm: Pcm) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(pcm.rate)
        writer.writeframes(pcm.samples)
    return buffer.getvalue()


def to_mp3(pcm: Pcm, *, bitrate_kbps: int = 64) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(bitrate_kbps)
    encoder.set_in_sample_rate(pcm.rate)
    encoder.set_channels(1)
    encoder.set_quality(5)
    return bytes(encoder.encode(pcm.samples) + encoder.flush())
