"""Asterisk AudioSocket server: a real phone line reaches the assistant through Asterisk.

Protocol (TCP; every message = 1-byte type, 2-byte big-endian payload length, payload):
  0x00 hang-up (no payload)       0x01 call UUID (16 bytes)
  0x03 DTMF digit (1 ASCII byte)  0x10 audio: signed-linear 16-bit 8 kHz mono, little-endian
  0xff error (optional code)
Asterisk sends the UUID first, then 20 ms audio frames; we answer with audio
frames of the same shape, paced in real time, and 0x00 when we hang up.

The caller's number: Asterisk passes only the UUID, so the dialplan writes
the number into it — `RRRRRRRR-RRRR-4000-a000-NNNNNNNNNNNN` (random, a
marker, the last 12 digits of CALLERID(num), zero-padded; see
`DIALPLAN`). Any other UUID is a caller with an unknown number.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import struct
import uuid

from bot.core.numbers import is_digits

from .call import Call, announce

log = logging.getLogger("voice.audiosocket")

HANGUP, UUID, DTMF, AUDIO, ERROR = 0x00, 0x01, 0x03, 0x10, 0xFF
RATE = 8000
FRAME_MS = 20
UUID_TIMEOUT_S = 5.0

DIALPLAN = r"""
; extensions.conf — route a number to the voice assistant. AudioSocket() needs Asterisk 18+; keypad
; presses reach us only from releases that forward DTMF frames (type 0x03, added in 2025 to 20/21/22).
[voice-assistant]
exten => _X.,1,Answer()
 same => n,Set(NUM=000000000000${FILTER(0123456789,${CALLERID(num)})})
 same => n,Set(CALL_ID=${RAND(10000000,99999999)}-${RAND(1000,9999)}-4000-a000-${NUM:-12})
 same => n,AudioSocket(${CALL_ID},127.0.0.1:9092)
 same => n,Hangup()
""".strip()


def encode(kind: int, payload: bytes = b"") -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError("AudioSocket payload longer than 65535 bytes")
    return struct.pack(">BH", kind, len(payload)) + payload


async def read_message(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    kind, length = struct.unpack(">BH", await reader.readexactly(3))
    return kind, (await reader.readexactly(length) if length else b"")


def call_key(call_id: uuid.UUID) -> str:
    """The call's id in conversation ids and logs: stable per call, without the number in the UUID."""
    return hashlib.sha256(call_id.bytes).hexdigest()[:20]


def caller_number(call_id: uuid.UUID) -> str | None:
    parts = str(call_id).split("-")
    if parts[2] == "4000" and parts[3] == "a000" and is_digits(parts[4]):
        return parts[4].lstrip("0") or None
    return None


class AudioSocketOutput:
    rate = RATE
    frame_ms = FRAME_MS

    def __init__(self, writer: asyncio.StreamWriter):
        self.writer = writer
        self.closed = False

    async def send_audio(self, pcm: bytes) -> None:
        if self.closed:
            return
        try:
            self.writer.write(encode(AUDIO, pcm))
            await self.writer.drain()
        except ConnectionError:  # the caller hung up while we spoke: the reader ends the call
            self.closed = True

    async def flush(self) -> None:
        """Nothing to do: frames are sent in real time, Asterisk holds at most the short lead."""

    async def notify(self, event) -> None:
        """A phone has no screen."""

    async def hang_up(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.writer.write(encode(HANGUP))
            await self.writer.drain()
        except ConnectionError:
            pass
        self.writer.close()


class AudioSocketServer:
    def __init__(self, service, host: str, port: int):
        self.service, self.host, self.port = service, host, port
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._connection, self.host, self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        log.info("AudioSocket listening on %s:%s", self.host, self.port)
        return self.port

    async def serve_forever(self) -> None:
        if self.server is None:
            await self.start()
        assert self.server is not None
        await self.service.load()
        async with self.server:
            await self.server.serve_forever()

    async def close(self) -> None:
        if self.server:
            self.server.close()
            await self.server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        output = AudioSocketOutput(writer)
        try:
            kind, payload = await asyncio.wait_for(read_message(reader), UUID_TIMEOUT_S)
            if kind != UUID or len(payload) != 16:
                log.warning("AudioSocket peer did not start with a UUID (type 0x%02x); closing", kind)
                writer.write(encode(ERROR, b"\x01"))
                await output.hang_up()
                return
            call_id = uuid.UUID(bytes=payload)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            await output.hang_up()
            return
        status = self.service.status()
        if not status.on:
            log.warning("call %s refused: voice is off (%s)", call_key(call_id), status.admin_hint or status.message)
            await announce(self.service, output, status.message)
            return
        call = Call(self.service, call_key(call_id), output, number=caller_number(call_id))
        running = asyncio.create_task(call.run())
        try:
            await self._read(reader, call)
        finally:
            call.hang_up()
            await running
            await output.hang_up()

    async def _read(self, reader: asyncio.StreamReader, call: Call) -> None:
        warned: set[int] = set()
        while not call.ended.is_set():
            try:
                kind, payload = await read_message(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return  # the peer closed the socket: that is a hang-up too
            if kind == AUDIO:
                await call.audio(payload)
            elif kind == DTMF and payload:
                call.key(payload[:1].decode("ascii", errors="replace"))
            elif kind == HANGUP:
                return
            elif kind == ERROR:
                log.warning("call %s: Asterisk reported error %s", call.call_id, payload.hex() or "(no code)")
                return
            elif kind not in warned:
                warned.add(kind)  # e.g. 0x11–0x18, audio at other rates: not configured by our dialplan
                log.warning("call %s: ignoring AudioSocket messages of type 0x%02x", call.call_id, kind)
