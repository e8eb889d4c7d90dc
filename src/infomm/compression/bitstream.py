"""The compressed-file format: a small binary header, the entropy-coded streams, a checksum.

::

    offset  bytes  field
    0       4      magic b"IMMC"
    4       1      format version (1)
    5       1      L = length of the model id
    6       L      model id (ASCII), e.g. "depth-video-jscc"
    6+L     8      weights hash: the first 8 bytes of SHA-256 over the model's state dict
    14+L    1      D = number of shape fields, then D x uint16 (e.g. frames, height, width)
    ..      1      S = number of streams, then S x uint32 stream lengths in bytes
    ..      sum    the streams, in the model's coding order (their names are the model's)
    end-4   4      CRC-32 of every byte before it

All integers are little-endian. The fixed cost is ``20 + L + 2 D + 4 S`` bytes, so a file of S
streams carries at most about 10 bytes per stream beyond the range coder's own output. A file
that is truncated, altered (checksum), from another program (magic), another format version, or
another model or weights is refused with :class:`~infomm.interface.InputError`; nothing is
decoded from it.

Example:
    >>> data = pack("toy", b"12345678", (2, 3), [b"abcd", b""])
    >>> header, streams = unpack(data, model_id="toy")
    >>> header.shape, streams
    ((2, 3), [b'abcd', b''])
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

import torch
from torch import nn

from infomm.interface import InputError

MAGIC = b"IMMC"
VERSION = 1
HASH_BYTES = 8


@dataclass(frozen=True)
class BitstreamHeader:
    """What a file says about itself."""

    model_id: str
    weights_hash: bytes
    shape: tuple[int, ...]
    stream_lengths: tuple[int, ...]


def weights_hash(model: nn.Module) -> bytes:
    """First 8 bytes of SHA-256 over the state dict (names, dtypes, shapes and values, in order)."""
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        v = t.detach().cpu().contiguous()
        h.update(f"{name}:{v.dtype}:{tuple(v.shape)};".encode())
        h.update(v.reshape(-1).view(torch.uint8).numpy().tobytes() if v.numel() else b"")
    return h.digest()[:HASH_BYTES]


#: mean excess of one range-coded stream over its ideal code length, in bits: the coder flushes its
#: state and the stream is whole 32-bit words; plus, per symbol, the loss of the coder's fixed-point
#: probabilities. Fitted to Gaussian-conditional streams of 16 to 65536 symbols (mean excess 13.0,
#: 15.6, 15.9, 18.2 and 29.6 bits at 16, 64, 256, 4096 and 65536 symbols, spread about 9 bits:
#: benchmarks/results/compression.md, section coding)
STREAM_OVERHEAD_BITS = 16.0
SYMBOL_EXCESS_BITS = 2e-4


def stream_overhead_bits(n_symbols: int) -> float:
    """Expected bits a range-coded stream of ``n_symbols`` takes beyond its ideal code length.

    >>> stream_overhead_bits(4096)
    16.8192
    """
    return STREAM_OVERHEAD_BITS + SYMBOL_EXCESS_BITS * n_symbols


def container_bytes(model_id: str, n_shape_fields: int, n_streams: int) -> int:
    """Bytes a file spends besides its streams (magic, version, id, hash, shape, lengths, CRC).

    >>> container_bytes("infomm-depth-video", 2, 3)  # 20 + 18 (id) + 2 * 2 (shape) + 3 * 4 (lengths)
    54
    """
    return len(pack(model_id, bytes(HASH_BYTES), (0,) * n_shape_fields, [b""] * n_streams))


def pack(model_id: str, weights: bytes, shape: tuple[int, ...], streams: list[bytes]) -> bytes:
    """Assemble a file from its streams (see the module docstring for the layout)."""
    mid = model_id.encode("ascii")
    if not 0 < len(mid) < 256:
        raise InputError(f"model_id={model_id!r}: must be 1-255 ASCII characters")
    if len(weights) != HASH_BYTES:
        raise InputError(f"weights: {len(weights)} bytes; the hash has {HASH_BYTES}")
    if len(shape) > 255 or any(not 0 <= int(d) < 1 << 16 for d in shape):
        raise InputError(f"shape={shape}: at most 255 fields, each in 0..65535")
    if len(streams) > 255:
        raise InputError(f"{len(streams)} streams: at most 255")
    parts = [
        MAGIC,
        struct.pack("<BB", VERSION, len(mid)),
        mid,
        weights,
        struct.pack(f"<B{len(shape)}H", len(shape), *shape),
        struct.pack(f"<B{len(streams)}I", len(streams), *(len(s) for s in streams)),
        *streams,
    ]
    body = b"".join(parts)
    return body + struct.pack("<I", zlib.crc32(body))


def unpack(
    data: bytes, *, model_id: str | None = None, weights: bytes | None = None, source: str = "the file"
) -> tuple[BitstreamHeader, list[bytes]]:
    """Parse and check a file; with ``model_id`` / ``weights`` it must come from that model."""
    if len(data) < 4 + 2 + 4 or data[:4] != MAGIC:
        raise InputError(f"{source} is not an infomm compressed file (no {MAGIC!r} header)")
    body, (crc,) = data[:-4], struct.unpack("<I", data[-4:])
    if zlib.crc32(body) != crc:
        raise InputError(f"{source} is corrupted or truncated (checksum mismatch); re-encode it")
    version, n_id = struct.unpack_from("<BB", body, 4)
    if version != VERSION:
        raise InputError(f"{source} has format version {version}; this infomm reads version {VERSION}")
    pos = 6
    try:
        mid = body[pos : pos + n_id].decode("ascii")
        pos += n_id
        whash = body[pos : pos + HASH_BYTES]
        pos += HASH_BYTES
        (n_dims,) = struct.unpack_from("<B", body, pos)
        shape = struct.unpack_from(f"<{n_dims}H", body, pos + 1)
        pos += 1 + 2 * n_dims
        (n_streams,) = struct.unpack_from("<B", body, pos)
        lengths = struct.unpack_from(f"<{n_streams}I", body, pos + 1)
        pos += 1 + 4 * n_streams
    except (struct.error, UnicodeDecodeError) as e:
        raise InputError(f"{source} has a malformed header ({e})") from e
    if pos + sum(lengths) != len(body):
        raise InputError(
            f"{source}: the header announces {sum(lengths)} stream bytes, {len(body) - pos} are present"
        )
    header = BitstreamHeader(mid, bytes(whash), tuple(shape), tuple(lengths))
    if model_id is not None and mid != model_id:
        raise InputError(
            f"{source} was written by model {mid!r}, not {model_id!r}; decode it with that model"
        )
    if weights is not None and header.weights_hash != weights:
        raise InputError(
            f"{source} was written by other weights of {mid!r} (hash {header.weights_hash.hex()}, "
            f"this model {weights.hex()}); decode it with the run that encoded it"
        )
    streams = []
    for n in lengths:
        streams.append(bytes(body[pos : pos + n]))
        pos += n
    return header, streams
