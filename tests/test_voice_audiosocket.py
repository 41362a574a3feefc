"""Asterisk AudioSocket conformance: a TCP client in the test plays Asterisk's
part (UUID first, 20 ms slin frames, DTMF, hang-up) against the real server."""

from __future__ import annotations

import asyncio
import struct
import time
import uuid

import pytest

from bot.core.engine import OPERATOR_PAYLOAD
from tests.voice_kit import FixedDesk, korean_model, korean_speech, needs_espeak, needs_korean_model
from voice.audiosocket import (
    AUDIO,
    DTMF,
    ERROR,
    HANGUP,
    UUID,
    AudioSocketServer,
    call_key,
    caller_number,
    encode,
    read_message,
)
from voice.recognizer import Choice
from voice.service import VoiceService

FRAME = 320  # 20 ms of 8 kHz slin16


def test_framing():
    assert encode(HANGUP) == b"\x00\x00\x00"
    assert encode(DTMF, b"5") == b"\x03\x00\x015"
    frame = encode(AUDIO, bytes(FRAME))
    assert frame[:3] == b"\x10\x01\x40" and len(frame) == 3 + FRAME
    with pytest.raises(ValueError):
        encode(AUDIO, bytes(70000))


async def test_read_message_round_trip():
    reader = asyncio.StreamReader()
    reader.feed_data(encode(UUID, uuid.UUID(int=7).bytes) + encode(DTMF, b"#") + encode(HANGUP))
    reader.feed_eof()
    assert await read_message(reader) == (UUID, uuid.UUID(int=7).bytes)
    assert await read_message(reader) == (DTMF, b"#")
    assert await read_message(reader) == (HANGUP, b"")
    with pytest.raises(asyncio.IncompleteReadError):
        await read_message(reader)


@pytest.mark.parametrize(
    "call_id, number",
    [
        ("12345678-1234-4000-a000-079141234567", "79141234567"),
        ("12345678-1234-4000-a000-000000000000", None),  # no caller id
        ("0f8fad5b-d9cb-469f-a165-70867728950e", None),  # an ordinary UUID
    ],
)
def test_caller_number_from_the_dialplan_uuid(call_id, number):
    assert caller_number(uuid.UUID(call_id)) == number


class Asterisk:
    """The Asterisk side of one AudioSocket connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.frames: list[bytes] = []
        self.other: list[tuple[int, bytes]] = []
        self.hung_up = asyncio.Event()  # the server sent 0x00
        self.closed = asyncio.Event()  # the server closed the socket
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def dial(cls, port: int, call_id: str) -> Asterisk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(encode(UUID, uuid.UUID(call_id).bytes))
        await writer.drain()
        return cls(reader, writer)

    async def _read(self) -> None:
        try:
            while True:
                kind, payload = await read_message(self.reader)
                if kind == AUDIO:
                    self.frames.append(payload)
                elif kind == HANGUP:
                    self.hung_up.set()
                else:
                    self.other.append((kind, payload))
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed.set()

    async def send(self, kind: int, payload: bytes = b"") -> None:
        self.writer.write(encode(kind, payload))
        await self.writer.drain()

    async def speak(self, pcm: bytes) -> None:
        for pos in range(0, len(pcm), FRAME):
            await self.send(AUDIO, pcm[pos : pos + FRAME].ljust(FRAME, b"\0"))

    async def close(self) -> None:
        self.writer.close()
        await asyncio.gather(self.task, return_exceptions=True)


async def until(condition, timeout: float = 20.0, what: str = "condition"):
    """Wait for an async condition with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def server(runtime):
    servers = []

    async def start(**kwargs) -> tuple[AudioSocketServer, VoiceService]:
        service = VoiceService(runtime, pace=False, **{"desk": FixedDesk(), "silence_seconds": 600, **kwargs})
        srv = AudioSocketServer(service, "127.0.0.1", 0)
        await srv.start()
        servers.append(srv)
        return srv, service

    yield start
    for srv in servers:
        await srv.close()


def _history(runtime, cid):
    async def read():
        return await runtime.engine.conversations.history(cid)

    return read


@needs_espeak
@needs_korean_model
async def test_a_phone_call_with_speech_keys_and_hang_up(runtime, server):
    srv, service = await server(model=korean_model())
    call_id = "1234abcd-5678-4000-a000-079141234567"
    cid = f"voice:{call_key(uuid.UUID(call_id))}"
    assert "79141234567" not in cid  # the number stays out of ids and logs
    line = await Asterisk.dial(srv.port, call_id)

    # the greeting arrives as 20 ms signed-linear frames
    await until(lambda: _async(len(line.frames) > 50), what="greeting audio")
    assert all(len(f) == FRAME for f in line.frames)

    # the caller speaks (8 kHz frames, as Asterisk sends them) and is understood
    await line.speak(korean_speech("네", 8000))
    history = await until(lambda: _clients(runtime, cid, 1), what="the spoken turn")
    assert history[0]["text"] == "네" and history[0]["channel"] == "voice"

    # DTMF 0 → the operator
    await line.send(DTMF, b"0")
    history = await until(lambda: _clients(runtime, cid, 2), what="the key press")
    assert history[1]["payload"] == OPERATOR_PAYLOAD

    # the caller's number identifies the client
    profile = await runtime.engine.profiles.get("phone:79141234567")
    assert profile.get("last_channel") == "voice"

    # hang-up from the phone ends the call on our side
    await line.send(HANGUP)
    await asyncio.wait_for(line.closed.wait(), 10)
    assert cid not in service.calls
    assert not line.other
    await line.close()


async def _async(value):
    return value


async def _clients(runtime, cid: str, n: int):
    entries = [e for e in await runtime.engine.conversations.history(cid) if e["from"] == "client"]
    return entries if len(entries) >= n else None


@needs_espeak
@needs_korean_model
async def test_silent_caller_hears_reprompts_then_goodbye_and_the_server_hangs_up(server):
    srv, service = await server(model=korean_model(), silence_seconds=0.2)
    line = await Asterisk.dial(srv.port, str(uuid.uuid4()))
    await asyncio.wait_for(line.hung_up.wait(), 20)
    await asyncio.wait_for(line.closed.wait(), 10)
    assert line.frames and not service.calls
    await line.close()


@needs_espeak
@needs_korean_model
async def test_dropped_socket_is_a_hang_up(server):
    srv, service = await server(model=korean_model())
    line = await Asterisk.dial(srv.port, str(uuid.uuid4()))
    await until(lambda: _async(bool(service.calls)), what="the call to start")
    await line.close()
    await until(lambda: _async(not service.calls), what="the call to end")


@needs_espeak
@needs_korean_model
async def test_asterisk_error_ends_the_call(server):
    srv, service = await server(model=korean_model())
    line = await Asterisk.dial(srv.port, str(uuid.uuid4()))
    await until(lambda: _async(bool(service.calls)), what="the call to start")
    await line.send(ERROR, b"\x02")
    await asyncio.wait_for(line.closed.wait(), 10)
    assert not service.calls
    await line.close()


async def test_without_a_recogniser_a_phone_call_goes_by_keypad(runtime, server):
    srv, service = await server(choice=Choice(""))
    call_id = str(uuid.uuid4())
    cid = f"voice:{call_key(uuid.UUID(call_id))}"
    line = await Asterisk.dial(srv.port, call_id)
    await until(lambda: _async(len(line.frames) > 100), what="the keypad greeting")  # spoken, not refused
    assert service.calls[cid].state.keypad_only
    await line.send(DTMF, b"1")
    history = await until(lambda: _clients(runtime, cid, 1), what="the key press")
    assert history[0]["payload"] == "do:help"
    await line.send(HANGUP)
    await asyncio.wait_for(line.closed.wait(), 10)
    await line.close()


async def test_without_a_synthesizer_the_line_hangs_up(server, tmp_path):
    from voice.synthesizer import EspeakSynthesizer

    mute = EspeakSynthesizer(tmp_path / "cache")
    mute.binary = "no-such-synthesizer"
    srv, service = await server(choice=Choice(""), synthesizer=mute)
    line = await Asterisk.dial(srv.port, str(uuid.uuid4()))
    await asyncio.wait_for(line.hung_up.wait(), 20)
    assert not service.calls and not line.frames  # nothing could be said: the call ends at once
    await line.close()


async def test_a_peer_that_does_not_start_with_a_uuid_gets_an_error(server):
    srv, _ = await server(choice=Choice(""))
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(encode(AUDIO, bytes(FRAME)))
    await writer.drain()
    line = Asterisk(reader, writer)
    await asyncio.wait_for(line.closed.wait(), 10)
    assert line.other == [(ERROR, b"\x01")] and line.hung_up.is_set()
    await line.close()


def test_dialplan_snippet_matches_the_uuid_scheme():
    from voice.audiosocket import DIALPLAN

    assert "AudioSocket(${CALL_ID},127.0.0.1:9092)" in DIALPLAN
    assert "-4000-a000-${NUM:-12}" in DIALPLAN
    assert struct.calcsize(">BH") == 3
