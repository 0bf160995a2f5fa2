"""The ingester's local spool: deliveries the broker could not take, on disk, in arrival order.

A 202 promises the delivery is durable "on the broker, or in the local spool while the broker is
away" (CONTRACT.md), so the spool must survive a crash at any instant without losing an accepted
record or inventing one. Hence an append-only log of length-prefixed, checksummed records: a torn
tail (the crash hit mid-write, before the fsync, so it was never acknowledged) fails its checksum
or is short, and is cut off on open instead of being mis-parsed.

On-disk format, version 1, in one directory (`FLOWGAUGE_DATA_DIR/spool/`):

* `seg-<first seq, 20 digits>.log`: the 8 bytes `FGSPOOL1`, then records, each
  `>I length | >I crc32 | >Q seq | >Q appended_at_ms | payload[length]`; the CRC-32 covers
  length, seq, appended_at_ms and the payload. Sequence numbers are contiguous and never reused.
* `forwarded`: `>Q next seq to forward | >I crc32 of those 8 bytes`, replaced atomically
  (write, fsync, rename, fsync the directory) after the broker acknowledged a batch. Whole
  segments below it are deleted; a restart resends at most the last unacknowledged batch.
* `lock`: `flock`ed while an ingester owns the directory (two would interleave their appends).

Plain synchronous file I/O that knows nothing of Kafka (`forwarder.py` drives it); the byte
format itself is in `segment.py`.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flowgauge.ingest.segment import (
    HEADER,
    MAGIC,
    encode_record,
    fsync_dir,
    read_forwarded,
    read_record,
    write_forwarded,
)

log = logging.getLogger(__name__)


class SpoolError(Exception):
    """The spool cannot persist (I/O error, another owner, unknown format)."""


class SpoolFull(SpoolError):
    """Appending would take the spool over its byte bound."""


@dataclass(frozen=True)
class SpooledRecord:
    """One record read back; `end` is its segment's first seq and the byte offset after it."""

    seq: int
    appended_at: float
    payload: bytes
    end: tuple[int, int]


@dataclass
class _Segment:
    first_seq: int
    path: Path
    size: int
    end_seq: int  # one past the seq of its last record


class Spool:
    """Append, read from the head, acknowledge; reopened after any crash without loss."""

    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        segment_bytes: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or min(16 << 20, max(64 << 10, max_bytes // 8))
        self.clock = clock
        self._segments: list[_Segment] = []
        self._fd: int | None = None  # append descriptor of the last segment, opened on demand
        self._head_seq = 0
        self._head_offset = 0  # byte offset of the head record in self._segments[0]
        self._head_ts = 0.0
        self._next_seq = 0
        self._broken = False
        self._full = False  # a delivery was refused for space, and nothing was freed since
        directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._lock_fd)
            raise SpoolError(
                f"{directory} is used by another ingester; give each its own FLOWGAUGE_DATA_DIR"
            ) from exc
        self._recover()

    # --- state -----------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Records appended and not yet acknowledged by the broker."""
        total = sum(s.end_seq - s.first_seq for s in self._segments)
        return total - (self._head_seq - self._segments[0].first_seq if self._segments else 0)

    @property
    def size_bytes(self) -> int:
        """Bytes on disk in segments: what the bound applies to."""
        return sum(s.size for s in self._segments)

    @property
    def next_seq(self) -> int:
        return self._next_seq

    @property
    def can_accept(self) -> bool:
        """False after an I/O error, or from a refusal for space until space is freed."""
        room = self.size_bytes + len(MAGIC) + HEADER.size < self.max_bytes
        return room and not (self._broken or self._full)

    def oldest_age(self) -> float:
        """Seconds since the oldest unforwarded record was appended (0 when empty)."""
        return max(0.0, self.clock() - self._head_ts) if self.depth else 0.0

    # --- writing ---------------------------------------------------------------------------

    def append(self, payload: bytes) -> int:
        """Write one record (not yet fsync'd: see `sync_handle`) and return its seq."""
        if self._broken:
            raise SpoolError("the spool had an I/O error; restart the ingester")
        size = HEADER.size + len(payload)
        roll = self._fd is None or (
            self._segments[-1].size + size > self.segment_bytes
            and self._segments[-1].end_seq > self._segments[-1].first_seq
        )
        if self.size_bytes + size + (len(MAGIC) if roll else 0) > self.max_bytes:
            self._full = True
            raise SpoolFull(f"the spool is at its bound of {self.max_bytes} bytes")
        if roll:
            self._roll()
        assert self._fd is not None
        seq, ts_ms = self._next_seq, int(self.clock() * 1000)
        segment = self._segments[-1]
        try:
            data = memoryview(encode_record(seq, ts_ms, payload))
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError as exc:
            try:  # never leave half a record before the next one
                os.ftruncate(self._fd, segment.size)
            except OSError:
                self._broken = True
            raise SpoolError(f"cannot write the spool: {exc.strerror}") from exc
        if self.depth == 0:
            self._head_seq, self._head_offset, self._head_ts = seq, segment.size, ts_ms / 1000
        segment.size += size
        segment.end_seq = self._next_seq = seq + 1
        return seq

    def _roll(self) -> None:
        """Start a new segment; the previous one is fsync'd first (group commit syncs one fd)."""
        try:
            if self._fd is not None:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None
            path = self.directory / f"seg-{self._next_seq:020d}.log"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            os.write(fd, MAGIC)
            os.fsync(fd)
            fsync_dir(self.directory)
        except OSError as exc:
            self._broken = True
            raise SpoolError(f"cannot start a spool segment: {exc.strerror}") from exc
        self._fd = fd
        self._segments.append(_Segment(self._next_seq, path, len(MAGIC), self._next_seq))

    def sync_handle(self) -> int | None:
        """A duplicate of the append descriptor, for an fsync in another thread (then close it)."""
        return None if self._fd is None else os.dup(self._fd)

    def sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def mark_broken(self) -> None:
        """After a failed fsync nothing written since is known durable: refuse until restart."""
        self._broken = True

    # --- reading and acknowledging ---------------------------------------------------------

    def peek(self, max_records: int, max_bytes: int = 4 << 20) -> list[SpooledRecord]:
        """Up to `max_records` records from the head, in order, without consuming them."""
        out: list[SpooledRecord] = []
        taken = 0
        seq, offset = self._head_seq, self._head_offset
        for segment in self._segments:
            if len(out) >= max_records or taken >= max_bytes:
                break
            if segment is not self._segments[0]:
                seq, offset = segment.first_seq, len(MAGIC)
            with open(segment.path, "rb") as f:
                f.seek(offset)
                while seq < segment.end_seq and len(out) < max_records and taken < max_bytes:
                    record = read_record(f, seq, self.max_bytes)
                    if record is None:
                        raise SpoolError(f"{segment.path.name} is corrupt at byte {offset}")
                    ts_ms, payload = record
                    offset += HEADER.size + len(payload)
                    taken += len(payload)
                    end = (segment.first_seq, offset)
                    out.append(SpooledRecord(seq, ts_ms / 1000, payload, end))
                    seq += 1
        return out

    def ack(self, record: SpooledRecord) -> None:
        """The broker holds everything up to `record`: persist that, then drop whole segments."""
        first_seq, offset = record.end
        if record.seq < self._head_seq or not self._segments:
            return
        while self._segments[0].first_seq != first_seq:
            self._segments[0].end_seq = self._segments[0].first_seq  # consumed entirely
            self._drop_first()
        self._head_seq, self._head_offset = record.seq + 1, offset
        write_forwarded(self.directory, self._head_seq)
        self._full = False
        segment = self._segments[0]
        if self._head_seq >= segment.end_seq:
            if len(self._segments) == 1:  # empty: start afresh, the disk goes back to zero
                if self._fd is not None:
                    os.close(self._fd)
                    self._fd = None
                self._drop_first()
                return
            self._drop_first()
            self._head_seq, self._head_offset = self._segments[0].first_seq, len(MAGIC)
        self._head_ts = self._read_ts(self._segments[0], self._head_offset)

    def _drop_first(self) -> None:
        segment = self._segments.pop(0)
        with contextlib.suppress(FileNotFoundError):
            segment.path.unlink()

    def _read_ts(self, segment: _Segment, offset: int) -> float:
        with open(segment.path, "rb") as f:
            f.seek(offset)
            header = f.read(HEADER.size)
        return float(HEADER.unpack(header)[3]) / 1000 if len(header) == HEADER.size else 0.0

    # --- recovery --------------------------------------------------------------------------

    def _recover(self) -> None:
        """Rebuild the state from disk: cut torn tails, skip what was already forwarded."""
        forwarded = read_forwarded(self.directory)
        paths = sorted(self.directory.glob("seg-*.log"))
        next_seq = forwarded
        for path in paths:
            first_seq = int(path.stem[4:])
            end_seq, valid = self._scan(path)
            if end_seq is None:
                continue
            segment = _Segment(first_seq, path, valid, end_seq)
            if end_seq <= forwarded or end_seq == first_seq:
                path.unlink()
                continue
            self._segments.append(segment)
            next_seq = max(next_seq, end_seq)
        self._next_seq = self._head_seq = next_seq
        if self._segments:
            first = self._segments[0]
            self._head_seq = max(forwarded, first.first_seq)
            self._head_offset = self._offset_of(first, self._head_seq)
            self._head_ts = self._read_ts(first, self._head_offset)

    def _scan(self, path: Path) -> tuple[int | None, int]:
        """Validate a segment and cut it after its last good record: (end_seq, size)."""
        first_seq = int(path.stem[4:])
        with open(path, "r+b") as f:
            if len(magic := f.read(len(MAGIC))) < len(MAGIC):  # torn at creation: no record
                path.unlink()
                return None, 0
            if magic != MAGIC:
                raise SpoolError(f"{path} is not a flowgauge spool segment (version 1)")
            seq, good = first_seq, f.tell()
            while read_record(f, seq, self.max_bytes) is not None:
                seq, good = seq + 1, f.tell()
            size = os.fstat(f.fileno()).st_size
            if good < size:
                log.warning("spool: dropped a torn tail of %d bytes in %s", size - good, path.name)
                f.truncate(good)
                os.fsync(f.fileno())
        return seq, good

    def _offset_of(self, segment: _Segment, seq: int) -> int:
        """Byte offset of record `seq` in a segment (recovery only: a linear read)."""
        with open(segment.path, "rb") as f:
            f.seek(len(MAGIC))
            for s in range(segment.first_seq, seq):
                if read_record(f, s, self.max_bytes) is None:
                    raise SpoolError(f"{segment.path.name} changed while being opened")
            return f.tell()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)
