"""A small safetensors reader and writer for torch tensors (there is no safetensors package here).

The format: an 8-byte little-endian u64 N, then N bytes of JSON header {name: {"dtype", "shape",
"data_offsets": [begin, end]}, optional "__metadata__": {str: str}}, then the raw little-endian data,
offsets counted from the first byte after the header. write() does what the reference (Rust) serializer
does: tensors sorted by dtype, widest first (U64, I64, F64, F32, ..., BOOL), then by name, so every
tensor starts at a multiple of its element size; the header lists them in that order, __metadata__ first,
as compact JSON padded with spaces to a multiple of 8 bytes.
"""
import json
import struct
import sys

import torch

# name -> (torch dtype, element size); the order is the reference's DType enum, used for sorting.
DTYPES = {
    "BOOL": (torch.bool, 1),
    "U8": (torch.uint8, 1),
    "I8": (torch.int8, 1),
    "I16": (torch.int16, 2),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "I32": (torch.int32, 4),
    "F32": (torch.float32, 4),
    "F64": (torch.float64, 8),
    "I64": (torch.int64, 8),
}
RANK = {name: i for i, name in enumerate(DTYPES)}
NAME_OF = {dtype: name for name, (dtype, _) in DTYPES.items()}


def to_bytes(tensor):
    """The tensor's elements, row-major, little-endian (this machine's order; checked in write)."""
    t = tensor.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: reinterpret the same 2 bytes as int16
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def write(path, tensors, metadata=None):
    """Writes {name: tensor} (and {str: str} metadata) to path; returns the header as a dict."""
    if sys.byteorder != "little":
        raise RuntimeError("safetensors_io writes this machine's byte order, which must be little-endian")
    names = sorted(tensors, key=lambda n: (-RANK[NAME_OF[tensors[n].dtype]], n))
    header, chunks, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in names:
        t = tensors[name]
        data = to_bytes(t)
        header[name] = {"dtype": NAME_OF[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in chunks:
            f.write(data)
    return header


def read(path):
    """Returns ({name: tensor}, metadata or None, header) from a safetensors file, checking its layout."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: {len(blob)} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError(f"{path}: header length {n} runs past the end of the file ({len(blob)} bytes)")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.get("__metadata__")
    data = blob[8 + n:]
    entries = sorted(((k, v) for k, v in header.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"][0])
    tensors, expected = {}, 0
    for name, info in entries:
        if info["dtype"] not in DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has dtype {info['dtype']}, which this reader does not know")
        dtype, size = DTYPES[info["dtype"]]
        shape = [int(d) for d in info["shape"]]
        begin, end = info["data_offsets"]
        count = 1
        for d in shape:
            count *= d
        if begin != expected or end - begin != count * size:
            raise ValueError(f"{path}: tensor {name!r} at [{begin}, {end}), expected [{expected}, {expected + count * size})")
        expected = end
        if count == 0:
            tensors[name] = torch.empty(shape, dtype=dtype)
        else:
            tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(shape)
    if expected != len(data):
        raise ValueError(f"{path}: {len(data) - expected} bytes after the last tensor")
    return tensors, metadata, header
