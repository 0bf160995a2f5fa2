"""The spool's on-disk format, version 1 (described in `spool.py`): record and offset codecs.

Kept apart from the spool's state machine so the bytes that must survive a crash are in one
small place: a record is whole and valid (length, CRC-32, expected seq) or it is not read.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

MAGIC = b"FGSPOOL1"
HEADER = struct.Struct(">IIQQ")
FORWARDED = struct.Struct(">QI")


def crc(length: int, seq: int, ts_ms: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(struct.pack(">IQQ", length, seq, ts_ms)))


def encode_record(seq: int, ts_ms: int, payload: bytes) -> bytes:
    return HEADER.pack(len(payload), crc(len(payload), seq, ts_ms, payload), seq, ts_ms) + payload


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_forwarded(directory: Path, seq: int) -> None:
    """Replace `forwarded` atomically: a crash leaves the old offset or the new, never half."""
    tmp = directory / "forwarded.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, FORWARDED.pack(seq, zlib.crc32(struct.pack(">Q", seq))))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, directory / "forwarded")
    fsync_dir(directory)


def read_forwarded(directory: Path) -> int:
    """The next seq to forward; 0 (resend everything still spooled) if absent or damaged."""
    try:
        data = (directory / "forwarded").read_bytes()
    except FileNotFoundError:
        return 0
    if len(data) != FORWARDED.size:
        return 0
    seq, check = FORWARDED.unpack(data)
    return int(seq) if zlib.crc32(struct.pack(">Q", seq)) == check else 0


def read_record(f: BinaryIO, seq: int, max_len: int) -> tuple[int, bytes] | None:
    """(appended_at_ms, payload) of the record at the file position when it is whole, valid
    and carries `seq`; None when torn, corrupt, or at the end."""
    header = f.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    length, check, got_seq, ts_ms = HEADER.unpack(header)
    if length > max_len or got_seq != seq:
        return None
    payload = f.read(length)
    if len(payload) < length or crc(length, got_seq, ts_ms, payload) != check:
        return None
    return int(ts_ms), payload
