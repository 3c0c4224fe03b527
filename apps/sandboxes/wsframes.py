"""RFC 6455 framing for the WebSocket preview proxy: the platform is the client of the sandbox's server.

Only what a relay needs: the opening handshake's key check, reading one frame (with a size
cap) and writing one. No extensions are negotiated, so a frame with an RSV bit set is a
protocol error; frames the platform sends are masked, as a client's must be.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
from dataclasses import dataclass

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CONTROL = {CLOSE, PING, PONG}


class ProtocolError(Exception):
    """The peer broke RFC 6455; ``code`` is the close code to answer with."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True)
class Frame:
    fin: bool
    opcode: int
    payload: bytes


def new_key() -> str:
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()  # noqa: S324 — RFC 6455 says SHA-1


def _masked(payload: bytes, mask: bytes) -> bytes:
    if not payload:
        return payload
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")


def encode(opcode: int, payload: bytes = b"", *, mask: bool = True, fin: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    bit = 0x80 if mask else 0
    length = len(payload)
    if length < 126:
        head += bytes([bit | length])
    elif length < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", length)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + _masked(payload, key)


def close_payload(code: int, reason: str = "") -> bytes:
    return struct.pack("!H", code) + reason.encode()[:120]


async def read_frame(reader: asyncio.StreamReader, *, max_size: int) -> Frame:
    """The next frame; :class:`ProtocolError` for a malformed or oversize one."""
    first, second = await reader.readexactly(2)
    if first & 0x70:
        raise ProtocolError(1002, "no extension was negotiated")
    opcode, length = first & 0x0F, second & 0x7F
    if opcode not in {CONTINUATION, TEXT, BINARY} | CONTROL:
        raise ProtocolError(1002, "unknown opcode")
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    if opcode in CONTROL and (length > 125 or not first & 0x80):
        raise ProtocolError(1002, "a control frame must be short and whole")
    if length > max_size:
        raise ProtocolError(1009, "message too big")
    mask = await reader.readexactly(4) if second & 0x80 else b""
    payload = await reader.readexactly(length)
    return Frame(bool(first & 0x80), opcode, _masked(payload, mask) if mask else payload)
