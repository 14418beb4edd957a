"""Proves that train/models.py has diffusers/transformers semantics and key names:
loads the tiny golden SD-1.4-topology weights from /work/shared/golden (strict=True) and reproduces
the golden outputs (diffusers 0.30.3 / transformers, float32) within 1e-4 + 1e-4*|golden|.
Also checks the CLIP tokenizer on the golden tokenizer cases, and the DDIM schedule tables.

Run: /usr/bin/python3 train/verify_against_goldens.py [--golden /work/shared/golden]
Optional: --model weights/fmnist  also checks that the exported folder loads strictly into the modules.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402
from clip_tokenizer import CLIPTokenizer  # noqa: E402
from models import AutoencoderKL, CLIPTextModel, UNet2DConditionModel  # noqa: E402

FAILS = []


def check(name, got, want, atol=1e-4, rtol=1e-4):
    got = got.detach().double().numpy() if torch.is_tensor(got) else np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, (name, got.shape, want.shape)
    err = np.abs(got - want)
    ok = bool(np.all(err <= atol + rtol * np.abs(want)))
    print(f"  {'OK  ' if ok else 'FAIL'} {name:40s} max|diff| {err.max():.3e}  (golden absmax {np.abs(want).max():.3f})")
    if not ok:
        FAILS.append(name)


def load_strict(module, path):
    sd = st.load_torch(path)
    missing, unexpected = module.load_state_dict(sd, strict=True), None
    n = len(sd)
    print(f"  loaded {path} strictly: {n} tensors, "
          f"{sum(v.numel() for v in sd.values())} params")
    return module


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden", default="/work/shared/golden")
    ap.add_argument("--model", default=None, help="also strictly load an exported pipeline folder")
    a = ap.parse_args()
    G = a.golden
    gd = os.path.join(G, "goldens")
    torch.set_grad_enabled(False)

    print("UNet2DConditionModel")
    cfg = json.load(open(os.path.join(G, "unet/config.json")))
    unet = load_strict(UNet2DConditionModel(cfg).eval(), os.path.join(G, "unet/diffusion_pytorch_model.safetensors"))
    inp = st.load_torch(os.path.join(gd, "unet_inputs.safetensors"))
    out = unet(inp["sample"], inp["timesteps"], inp["encoder_hidden_states"])
    check("unet.noise_pred", out, st.load(os.path.join(gd, "unet_output.safetensors"))[0]["noise_pred"])

    print("AutoencoderKL")
    cfg = json.load(open(os.path.join(G, "vae/config.json")))
    vae = load_strict(AutoencoderKL(cfg).eval(), os.path.join(G, "vae/diffusion_pytorch_model.safetensors"))
    img = st.load_torch(os.path.join(gd, "vae_encode_inputs.safetensors"))["image"]
    want = st.load(os.path.join(gd, "vae_encode_output.safetensors"))[0]
    mean, logvar = vae.encode_moments(img)
    check("vae_encode.mean", mean, want["mean"])
    check("vae_encode.logvar", logvar, want["logvar"])
    check("vae_encode.std", torch.exp(0.5 * logvar), want["std"])
    z = st.load_torch(os.path.join(gd, "vae_decode_inputs.safetensors"))["latent"]
    check("vae_decode.image", vae.decode(z), st.load(os.path.join(gd, "vae_decode_output.safetensors"))[0]["image"])

    print("CLIPTextModel")
    cfg = json.load(open(os.path.join(G, "text_encoder/config.json")))
    te = load_strict(CLIPTextModel(cfg).eval(), os.path.join(G, "text_encoder/model.safetensors"))
    ids = st.load_torch(os.path.join(gd, "clip_inputs.safetensors"))["input_ids"]
    want = st.load(os.path.join(gd, "clip_output.safetensors"))[0]
    hs, pooled = te(ids)
    check("clip.last_hidden_state", hs, want["last_hidden_state"])
    check("clip.pooler_output", pooled, want["pooler_output"])

    print("Pipeline golden (tiny pipeline, 4 DDIM steps, CFG 7.5) via the same modules")
    p = st.load_torch(os.path.join(gd, "pipeline.safetensors"))
    pj = json.load(open(os.path.join(gd, "pipeline.json")))
    tok = CLIPTokenizer(os.path.join(G, "tokenizer"))
    prompt = pj.get("prompt", ["a photograph of an astronaut riding a horse"])
    prompt = prompt[0] if isinstance(prompt, list) else prompt
    check("pipeline.input_ids", torch.tensor([tok(prompt)]), p["input_ids"].numpy(), atol=0, rtol=0)
    cond = te(p["input_ids"])[0]
    unc = te(p["negative_input_ids"])[0]
    check("pipeline.prompt_embeds", cond, p["prompt_embeds"])
    ctx = torch.cat([unc, cond])
    from ddim import DDIM  # noqa: E402
    sch = DDIM()
    x = p["init_latents"]
    ts = sch.timesteps(len(p["timesteps"]))
    check("pipeline.timesteps", torch.tensor(ts), p["timesteps"].numpy(), atol=0, rtol=0)
    for i, t in enumerate(ts):
        e = unet(torch.cat([x, x]), torch.tensor(t), ctx)
        check(f"pipeline.unet_out_step{i}", e, p[f"unet_out_step{i}"], atol=2e-4, rtol=2e-4)
        eu, ec = e.chunk(2)
        x, _ = sch.step(eu + 7.5 * (ec - eu), t, x, len(ts))
        check(f"pipeline.latents_after_step{i}", x, p[f"latents_after_step{i}"], atol=5e-4, rtol=5e-4)
    check("pipeline.decoded_image", vae.decode(x / 0.18215), p["decoded_image"], atol=1e-3, rtol=1e-3)

    print("CLIP tokenizer (ASCII cases; unicode cases are out of scope of this python tokenizer)")
    cases = json.load(open(os.path.join(gd, "tokenizer_cases.json")))["cases"]
    for c in cases:
        if not all(ord(ch) < 128 for ch in c["prompt"]):
            continue
        got = tok(c["prompt"])
        ok = got == c["input_ids_padded"]
        print(f"  {'OK  ' if ok else 'FAIL'} tokenizer {c['prompt'][:60]!r}")
        if not ok:
            FAILS.append("tokenizer " + c["prompt"][:30])

    print("DDIM schedule")
    d = st.load(os.path.join(gd, "scheduler/ddim.safetensors"))[0]
    check("ddim.alphas_cumprod", sch.alphas_cumprod, d["alphas_cumprod"], atol=1e-7, rtol=1e-6)
    for n in (50, 20):
        check(f"ddim.timesteps_{n}", np.array(sch.timesteps(n)), d[f"timesteps_{n}"], atol=0, rtol=0)

    if a.model:
        print(f"Exported folder {a.model}: strict loads")
        for sub, cls, fn in [("unet", UNet2DConditionModel, "diffusion_pytorch_model.safetensors"),
                             ("vae", AutoencoderKL, "diffusion_pytorch_model.safetensors"),
                             ("text_encoder", CLIPTextModel, "model.safetensors")]:
            cfg = json.load(open(os.path.join(a.model, sub, "config.json")))
            m = cls(cfg)
            sd = {k: v.float() for k, v in st.load_torch(os.path.join(a.model, sub, fn)).items()}
            m.load_state_dict(sd, strict=True)
            print(f"  OK   {sub}: {len(sd)} tensors")

    print("RESULT:", "ALL OK" if not FAILS else f"FAILED: {FAILS}")
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
