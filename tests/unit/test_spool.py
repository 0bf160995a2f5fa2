"""The spool keeps every appended record, in order, across acks, reopens and torn tails;
the forwarder drains it in order once the broker is back."""

from __future__ import annotations

import asyncio
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowgauge.ingest.forwarder import DEADLETTER, RAW, Forwarder, Unavailable, decode
from flowgauge.ingest.segment import HEADER, MAGIC
from flowgauge.ingest.spool import Spool, SpoolError, SpoolFull
from flowgauge.stream.topics import Topics


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def drain(spool: Spool, batch: int = 3) -> list[bytes]:
    """Forward everything, `batch` records at a time, as the forwarder does."""
    out: list[bytes] = []
    while records := spool.peek(batch):
        out.extend(r.payload for r in records)
        spool.ack(records[-1])
    return out


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("seg-*.log"))


def test_records_come_back_in_order_across_segments(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=200)
    payloads = [f"delivery-{i}".encode() * (i % 4 + 1) for i in range(40)]
    seqs = [spool.append(p) for p in payloads]
    assert seqs == list(range(40))
    assert len(segments(tmp_path)) > 3
    assert spool.depth == 40
    assert drain(spool) == payloads
    assert (spool.depth, spool.size_bytes, segments(tmp_path)) == (0, 0, [])
    spool.close()


def test_peek_does_not_consume_and_ack_is_a_prefix(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    for i in range(5):
        spool.append(b"%d" % i)
    assert [r.payload for r in spool.peek(3)] == [b"0", b"1", b"2"]
    assert [r.payload for r in spool.peek(3)] == [b"0", b"1", b"2"]
    spool.ack(spool.peek(2)[-1])
    assert spool.depth == 3
    assert [r.payload for r in spool.peek(10)] == [b"2", b"3", b"4"]
    spool.close()


def test_a_torn_tail_is_dropped_and_never_misparsed(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    for i in range(3):
        spool.append(b"whole-%d" % i)
    spool.close()
    (segment,) = segments(tmp_path)
    whole = segment.stat().st_size
    # A crash mid-append: a header promising 100 bytes and only some of them.
    with open(segment, "ab") as f:
        f.write(HEADER.pack(100, 0, 3, 0) + b"partial")
    reopened = Spool(tmp_path, max_bytes=1 << 20)
    assert segment.stat().st_size == whole
    assert reopened.append(b"after") == 3
    assert drain(reopened) == [b"whole-0", b"whole-1", b"whole-2", b"after"]
    reopened.close()


@pytest.mark.parametrize("cut", [1, HEADER.size - 1, HEADER.size + 2])
def test_a_truncated_last_record_is_dropped(tmp_path: Path, cut: int) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append(b"kept")
    spool.append(b"torn-record")
    spool.close()
    (segment,) = segments(tmp_path)
    size = segment.stat().st_size
    with open(segment, "r+b") as f:
        f.truncate(size - len(b"torn-record") - HEADER.size + cut)
    reopened = Spool(tmp_path, max_bytes=1 << 20)
    assert drain(reopened) == [b"kept"]
    reopened.close()


def test_a_flipped_byte_fails_the_checksum(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.append(b"good")
    spool.append(b"flipped")
    spool.close()
    (segment,) = segments(tmp_path)
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF
    segment.write_bytes(bytes(data))
    reopened = Spool(tmp_path, max_bytes=1 << 20)
    assert drain(reopened) == [b"good"]
    reopened.close()


def test_a_segment_torn_at_creation_is_ignored(tmp_path: Path) -> None:
    (tmp_path / f"seg-{0:020d}.log").write_bytes(MAGIC[:3])
    spool = Spool(tmp_path, max_bytes=1 << 20)
    assert spool.depth == 0
    spool.append(b"x")
    assert drain(spool) == [b"x"]
    spool.close()


def test_an_unknown_format_is_refused_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / f"seg-{0:020d}.log").write_bytes(b"FGSPOOL9" + b"\0" * 30)
    with pytest.raises(SpoolError, match="not a flowgauge spool segment"):
        Spool(tmp_path, max_bytes=1 << 20)


def test_the_bound_refuses_with_spool_full_and_frees_after_forwarding(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=64 << 10, segment_bytes=16 << 10)
    payload = b"p" * 1000
    accepted = 0
    with pytest.raises(SpoolFull):
        while True:
            spool.append(payload)
            accepted += 1
    assert 50 < accepted < 66
    assert spool.size_bytes <= 64 << 10
    assert not spool.can_accept or spool.size_bytes + len(payload) > 64 << 10
    assert len(drain(spool, batch=100)) == accepted
    assert spool.can_accept and spool.size_bytes == 0
    spool.append(payload)
    spool.close()


def test_restart_reopens_with_the_forwarded_offset(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=150)
    for i in range(20):
        spool.append(b"r%02d" % i)
    spool.ack(spool.peek(7)[-1])
    spool.close()  # a crash here loses nothing: appends were written, the offset persisted
    reopened = Spool(tmp_path, max_bytes=1 << 20, segment_bytes=150)
    assert reopened.depth == 13
    assert reopened.peek(1)[0].seq == 7
    assert reopened.append(b"new") == 20
    assert drain(reopened) == [b"r%02d" % i for i in range(7, 20)] + [b"new"]
    forwarded = (tmp_path / "forwarded").read_bytes()
    assert struct.unpack(">Q", forwarded[:8])[0] == 21
    reopened.close()
    empty = Spool(tmp_path, max_bytes=1 << 20)
    assert (empty.depth, empty.next_seq) == (0, 21)  # sequence numbers are never reused
    empty.close()


def test_oldest_age_uses_the_clock_and_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    spool = Spool(tmp_path, max_bytes=1 << 20, clock=clock)
    assert spool.oldest_age() == 0.0
    spool.append(b"a")
    clock.now += 30
    spool.append(b"b")
    clock.now += 12.5
    assert spool.oldest_age() == pytest.approx(42.5, abs=0.01)
    spool.close()
    reopened = Spool(tmp_path, max_bytes=1 << 20, clock=clock)
    assert reopened.oldest_age() == pytest.approx(42.5, abs=0.01)
    reopened.ack(reopened.peek(1)[0])
    assert reopened.oldest_age() == pytest.approx(12.5, abs=0.01)
    reopened.ack(reopened.peek(1)[0])
    assert reopened.oldest_age() == 0.0
    reopened.close()


def test_one_owner_at_a_time(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    with pytest.raises(SpoolError, match="another ingester"):
        Spool(tmp_path, max_bytes=1 << 20)
    spool.close()
    Spool(tmp_path, max_bytes=1 << 20).close()


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.binary(max_size=120)),
        st.tuples(st.just("forward"), st.integers(1, 6)),
        st.tuples(st.just("reopen"), st.booleans()),
    ),
    max_size=60,
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_any_history_loses_nothing_and_keeps_order(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, bytes | int | bool]]
) -> None:
    """Appends, partial forwards and reopens (clean or with a torn tail) in any order: what
    was forwarded plus what is left is exactly what was appended, in order, each once."""
    directory = tmp_path_factory.mktemp("spool")
    spool = Spool(directory, max_bytes=1 << 20, segment_bytes=300)
    appended: list[bytes] = []
    forwarded: list[bytes] = []
    for op, arg in ops:
        if op == "append":
            assert isinstance(arg, bytes)
            spool.append(arg)
            appended.append(arg)
        elif op == "forward":
            records = spool.peek(int(arg))
            if records:
                spool.ack(records[-1])
                forwarded.extend(r.payload for r in records)
        else:
            spool.close()
            if arg and (tail := segments(directory)):
                with open(tail[-1], "ab") as f:  # a crash mid-append of an unacknowledged record
                    f.write(HEADER.pack(50, 1, spool.next_seq, 0) + b"torn")
            spool = Spool(directory, max_bytes=1 << 20, segment_bytes=300)
        assert spool.depth == len(appended) - len(forwarded)
    assert forwarded + drain(spool) == appended
    spool.close()


# --- the forwarder over the spool, with a stub broker --------------------------------------


class StubBroker:
    """A producer whose broker can be switched off: sends then fail like aiokafka's."""

    def __init__(self) -> None:
        self.up = False
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.up:
            self.sent.append((topic, key, value))
            future.set_result(None)
        else:
            future.set_exception(KafkaConnectionError("broker away"))
        return future

    async def stop(self) -> None:
        return None

    async def start(self) -> StubBroker:
        return self

    async def ensure(self) -> None:
        if not self.up:
            raise KafkaConnectionError("broker away")


async def until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def test_outage_spools_with_group_commit_then_forwards_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsyncs: list[int] = []
    real_fsync = os.fsync

    def counted_fsync(fd: int) -> None:
        fsyncs.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counted_fsync)
    topics = Topics("raw", "events", "dead", "alerts", "facts")

    async def scenario() -> None:
        broker = StubBroker()
        spool = Spool(tmp_path, max_bytes=1 << 20)
        forwarder = Forwarder(spool, topics, broker.start, broker.ensure, backoff=(0.01, 0.05))
        forwarder.start()
        before = len(fsyncs)
        where = await asyncio.gather(
            *(forwarder.persist(RAW, b"k%d" % i, b"v%d" % i) for i in range(50))
        )
        assert set(where) == {"spool"} and spool.depth == 50
        assert len(fsyncs) - before < 25, "concurrent appends share fsyncs"
        await forwarder.persist(DEADLETTER, b"bad", b"why")
        broker.up = True
        await until(lambda: spool.depth == 0 and forwarder.direct)
        assert [v for _, _, v in broker.sent] == [b"v%d" % i for i in range(50)] + [b"why"]
        assert broker.sent[-1][0] == "dead"
        assert await forwarder.persist(RAW, b"k", b"direct") == "broker"
        broker.up = False  # lost again: the next delivery is spooled, the one after too
        assert await forwarder.persist(RAW, b"k", b"a") == "spool"
        assert await forwarder.persist(RAW, b"k", b"b") == "spool"
        assert forwarder.ready  # the spool can accept: /readyz stays 200
        await forwarder.stop()

    asyncio.run(scenario())
    reopened = Spool(tmp_path, max_bytes=1 << 20)
    assert [decode(r.payload)[2] for r in reopened.peek(10)] == [b"a", b"b"]
    reopened.close()


def test_a_full_spool_answers_unavailable(tmp_path: Path) -> None:
    topics = Topics("raw", "events", "dead", "alerts", "facts")

    async def scenario() -> None:
        broker = StubBroker()
        spool = Spool(tmp_path, max_bytes=64 << 10)
        forwarder = Forwarder(spool, topics, broker.start, broker.ensure, backoff=(0.01, 0.05))
        forwarder.start()
        with pytest.raises(Unavailable) as refused:
            for _ in range(100):
                await forwarder.persist(RAW, b"k", b"x" * 2000)
        assert refused.value.code == "spool_full"
        assert not forwarder.ready
        broker.up = True
        await until(lambda: forwarder.ready and spool.depth == 0)
        await forwarder.stop()

    asyncio.run(scenario())
