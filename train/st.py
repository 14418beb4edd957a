"""Minimal safetensors reader/writer (numpy only; no external package).

Format: 8-byte little-endian u64 header length N, N bytes of JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
then the raw little-endian tensor bytes (offsets relative to the end of the header).
"""
import json
import struct

import numpy as np

_DT = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U8": np.uint8, "BOOL": np.bool_,
}
_NAME = {np.dtype(v).str.lstrip("<>|="): k for k, v in _DT.items()}


def load(path):
    """Returns (dict name -> numpy array, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = np.dtype(_DT[info["dtype"]]).newbyteorder("<")
        arr = np.frombuffer(raw, dtype=dt, count=(e - b) // dt.itemsize, offset=base + b)
        out[name] = arr.reshape(info["shape"]).astype(dt.newbyteorder("="), copy=True)
    return out, meta


def save(path, tensors, metadata=None):
    """tensors: dict name -> numpy array (dtype decides the stored dtype).
    Keys are written sorted (like the reference implementation); data 8-byte aligned."""
    header = {}
    blobs = []
    off = 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        dname = _NAME[a.dtype.str.lstrip("<>|=")]
        b = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dname, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def load_torch(path):
    import torch
    t, _ = load(path)
    return {k: torch.from_numpy(v) for k, v in t.items()}


def save_torch(path, state_dict, dtype_map=None, metadata=None):
    """dtype_map: optional function(name, tensor) -> numpy dtype to store."""
    out = {}
    for k, v in state_dict.items():
        a = v.detach().cpu().numpy()
        if dtype_map is not None:
            a = a.astype(dtype_map(k, a))
        out[k] = a
    save(path, out, metadata or {"format": "pt"})
