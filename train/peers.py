"""The peer engines' side of bench/peers.ts (issue 14): ONNX export and the PyTorch CPU engine.

Both use train/models.py, the PyTorch modules with diffusers semantics and key names that
train/verify_against_goldens.py proves against the goldens, loaded strictly from the same
safetensors Tether loads, so every engine runs the same weights.

  export: writes one ONNX graph (opset 17, dynamic batch; float32 weights and inputs)
    /usr/bin/python3 train/peers.py export --kind unet --folder weights/fmnist/unet --out bench/peers/fmnist_unet.onnx
    kinds: unet (inputs sample [B,4,h,w], timestep [B] float32, encoder_hidden_states [B,77,D];
           output out [B,4,h,w]) and vae_decoder (input latent [B,4,h,w]; output out [B,3,8h,8w],
           i.e. vae.decode(z).sample: post_quant_conv + decoder, no scaling, no clamp)
  serve: the PyTorch CPU engine, JSON lines on stdin/stdout (one reply line per request):
    {"op": "load", "id": name, "kind": ..., "folder": ...}             -> {"ok": true}
    {"op": "run", "id": name, "threads": n, "inputs": {name: {"shape": [..], "data": [..]}},
     "want_output": bool}                                             -> {"ms": float, "output": [..]?}
    The bench interleaves these with the other engines' forwards; "ms" is the forward alone
    (torch.inference_mode, after torch.set_num_threads(n)), not the JSON transfer.

Debian's python3-torch (1.13) exports ONNX without extra packages; bench/peers/ is git-ignored.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402
from models import AutoencoderKL, UNet2DConditionModel  # noqa: E402

OPSET = 17


class VAEDecode(torch.nn.Module):
    """vae.decode(z).sample as one module (what Tether's AutoencoderKL.decode computes)."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent):
        return self.vae.decode(latent)


def load_module(kind, folder):
    """The module of `kind` built from folder/config.json, weights loaded strictly as float32."""
    cfg = json.load(open(os.path.join(folder, "config.json")))
    sd = {k: v.float() for k, v in st.load_torch(os.path.join(folder, "diffusion_pytorch_model.safetensors")).items()}
    if kind == "unet":
        m = UNet2DConditionModel(cfg)
        m.load_state_dict(sd, strict=True)
        return m.eval(), cfg
    if kind == "vae_decoder":
        m = AutoencoderKL(cfg)
        m.load_state_dict(sd, strict=True)
        return VAEDecode(m).eval(), cfg
    raise SystemExit(f"unknown kind {kind!r} (unet, vae_decoder)")


def example_inputs(kind, cfg, batch=2, latent=8, seq=77):
    """Tracing inputs: batch 2 so no axis is specialised to 1 (the batch axis is dynamic anyway)."""
    g = torch.Generator().manual_seed(0)
    if kind == "unet":
        x = torch.randn(batch, cfg["in_channels"], latent, latent, generator=g)
        t = torch.tensor([981.0, 941.0][:batch])
        e = torch.randn(batch, seq, cfg["cross_attention_dim"], generator=g)
        return (x, t, e), ["sample", "timestep", "encoder_hidden_states"]
    return (torch.randn(batch, cfg["latent_channels"], latent, latent, generator=g),), ["latent"]


def export(a):
    m, cfg = load_module(a.kind, a.folder)
    latent = a.latent or (cfg.get("sample_size", 8) if a.kind == "unet" else 8)
    args, names = example_inputs(a.kind, cfg, latent=latent)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    axes = {n: {0: "batch"} for n in names + ["out"]}
    tmp = a.out + ".tmp"
    with torch.no_grad():
        torch.onnx.export(m, args, tmp, opset_version=OPSET, input_names=names, output_names=["out"],
                          dynamic_axes=axes, do_constant_folding=True)
    os.replace(tmp, a.out)
    meta = {"kind": a.kind, "folder": os.path.abspath(a.folder), "opset": OPSET, "torch": torch.__version__,
            "inputs": names, "traced_latent": latent}
    with open(a.out + ".json", "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote {a.out} ({os.path.getsize(a.out) / 2 ** 20:.1f} MiB, opset {OPSET}, torch {torch.__version__})")


def serve(_a):
    torch.set_grad_enabled(False)
    models = {}
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            if req["op"] == "load":
                models[req["id"]] = (req["kind"], load_module(req["kind"], req["folder"])[0])
                rep = {"ok": True, "torch": torch.__version__, "max_threads": os.cpu_count()}
            elif req["op"] == "run":
                kind, m = models[req["id"]]
                torch.set_num_threads(int(req.get("threads", 1)))
                order = ["sample", "timestep", "encoder_hidden_states"] if kind == "unet" else ["latent"]
                ins = [torch.tensor(req["inputs"][n]["data"], dtype=torch.float32).reshape(req["inputs"][n]["shape"])
                       for n in order]
                with torch.inference_mode():
                    t0 = time.perf_counter()
                    y = m(*ins)
                    ms = (time.perf_counter() - t0) * 1e3
                rep = {"ms": ms, "threads": torch.get_num_threads()}
                if req.get("want_output"):
                    rep["output"] = y.reshape(-1).tolist()
            else:
                rep = {"error": f"unknown op {req['op']!r}"}
        except Exception as e:  # reported to the bench, which marks the engine failed
            rep = {"error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(rep) + "\n")
        out.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--kind", required=True, choices=["unet", "vae_decoder"])
    e.add_argument("--folder", required=True, help="component folder: config.json + diffusion_pytorch_model.safetensors")
    e.add_argument("--out", required=True)
    e.add_argument("--latent", type=int, default=0, help="latent size used for tracing (default: config sample_size)")
    sub.add_parser("serve")
    a = ap.parse_args()
    export(a) if a.cmd == "export" else serve(a)


if __name__ == "__main__":
    main()
