"""Trains Tether's embedded miniature Stable-Diffusion pipeline on Fashion-MNIST and exports it
as a diffusers/transformers pipeline folder (weights/fmnist).

Stages (in order): clf (FID classifier), vae (AutoencoderKL), latents (encode train split, set
scaling_factor), unet (UNet2DConditionModel + CLIPTextModel, jointly), eval (metrics, sample grid,
export). Every stage is seeded. Checkpoints go to --work (default /tmp/fmnist_work); the pipeline
folder is re-exported after each stage and periodically during UNet training, so a partial run
still leaves usable weights.

Schedules: each stage has a step budget and a wall-time cap; the LR schedule's progress is
max(step/steps, elapsed/cap), so on a slow machine a stage ends early with an annealed LR (the
report records the steps actually run). Pass --no-time-cap for a step-exact rerun.

Run (Debian's python3 with python3-torch 1.13, 2 CPU cores):
  OPENBLAS_NUM_THREADS=1 nice -n 10 /usr/bin/python3 train/train_fmnist.py
"""
import argparse
import copy
import gzip
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import st  # noqa: E402
from clip_tokenizer import CLIPTokenizer  # noqa: E402
from ddim import DDIM  # noqa: E402
from models import AutoencoderKL, CLIPTextModel, FMNISTClassifier, UNet2DConditionModel  # noqa: E402

GOLDEN = "/work/shared/golden"
DATA = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# first entry of each list is the canonical prompt (sample grid, evaluation)
CLASS_PROMPTS = [
    ["a t-shirt", "a top", "a t-shirt or top"],
    ["a trouser", "trousers", "a pair of trousers", "pants"],
    ["a pullover", "a sweater"],
    ["a dress"],
    ["a coat", "a jacket"],
    ["a sandal", "sandals"],
    ["a shirt"],
    ["a sneaker", "sneakers"],
    ["a bag", "a handbag"],
    ["an ankle boot", "a boot", "ankle boots"],
]
TEMPLATES = ["{}", "{}", "a photo of {}", "a picture of {}"]  # plain form twice as likely
P_UNCOND = 0.15

UNET_CFG = {
    "sample_size": 8, "in_channels": 4, "out_channels": 4, "center_input_sample": False,
    "flip_sin_to_cos": True, "freq_shift": 0,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "block_out_channels": [32, 64, 64], "layers_per_block": 1, "downsample_padding": 1,
    "mid_block_scale_factor": 1, "act_fn": "silu", "norm_num_groups": 16, "norm_eps": 1e-05,
    "cross_attention_dim": 32, "attention_head_dim": 4, "use_linear_projection": False,
}
VAE_CFG = {
    "in_channels": 3, "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 3, "up_block_types": ["UpDecoderBlock2D"] * 3,
    "block_out_channels": [16, 32, 32], "layers_per_block": 1, "act_fn": "silu",
    "latent_channels": 4, "norm_num_groups": 8, "sample_size": 32, "scaling_factor": None,
}
TEXT_CFG = {
    "vocab_size": 49408, "hidden_size": 32, "intermediate_size": 128, "num_hidden_layers": 2,
    "num_attention_heads": 4, "max_position_embeddings": 77, "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-05, "attention_dropout": 0.0, "dropout": 0.0, "initializer_range": 0.02,
    "initializer_factor": 1.0, "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
    "projection_dim": 32,
}
CLF_CFG = {
    "_class_name": "TetherFMNISTClassifier", "in_channels": 3, "image_size": 32,
    "channels": [16, 32, 64, 64], "strides": [1, 2, 2, 2], "kernel_size": 3, "padding": 1,
    "norm_num_groups": 8, "norm_eps": 1e-05, "feature_dim": 128, "num_classes": 10,
}


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


# ----------------------------------------------------------------------------- data

def load_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[:4], "big")
    if magic == 2051:
        n, r, c = (int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(3))
        return np.frombuffer(raw, np.uint8, offset=16).reshape(n, r, c)
    assert magic == 2049
    n = int.from_bytes(raw[4:8], "big")
    return np.frombuffer(raw, np.uint8, offset=8).reshape(n)


SMOKE = False


def load_split(split):
    p = "train" if split == "train" else "t10k"
    if SMOKE and split == "train":
        return (load_idx(os.path.join(DATA, f"{p}-images-idx3-ubyte.gz"))[:2000],
                load_idx(os.path.join(DATA, f"{p}-labels-idx1-ubyte.gz")).astype(np.int64)[:2000])
    return (load_idx(os.path.join(DATA, f"{p}-images-idx3-ubyte.gz")),
            load_idx(os.path.join(DATA, f"{p}-labels-idx1-ubyte.gz")).astype(np.int64))


def preprocess(u8):
    """uint8 [N,28,28] -> float32 [N,3,32,32] in [-1,1]: pad 2 px of background (0 -> -1), grey x3."""
    x = torch.from_numpy(np.ascontiguousarray(u8)).float().div(127.5).sub(1.0)[:, None]
    x = F.pad(x, (2, 2, 2, 2), value=-1.0)
    return x.expand(-1, 3, -1, -1).contiguous()


# ----------------------------------------------------------------------------- helpers

class Schedule:
    """Warmup + cosine to `floor`; progress = max(step/steps, elapsed/cap)."""

    def __init__(self, steps, cap_s, warmup, lr, floor=0.05):
        self.steps, self.cap, self.warmup, self.lr, self.floor = steps, cap_s, warmup, lr, floor
        self.t0 = time.time()

    def progress(self, step):
        p = step / self.steps
        if self.cap:
            p = max(p, (time.time() - self.t0) / self.cap)
        return p

    def lr_at(self, step, p):
        w = min(1.0, (step + 1) / self.warmup)
        return self.lr * w * (self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * min(p, 1.0))))


def set_lr(opt, lr):
    for g in opt.param_groups:
        g["lr"] = lr


@torch.no_grad()
def ema_update(ema, model, step, decay):
    d = min(decay, (1 + step) / (10 + step))
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.mul_(d).add_(pm.detach(), alpha=1 - d)


def nparams(m):
    return sum(p.numel() for p in m.parameters())


def macs_per_sample(model, *inputs):
    tot = [0]

    def hook(m, i, o):
        if isinstance(m, torch.nn.Conv2d):
            tot[0] += o.numel() * m.in_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups
        elif isinstance(m, torch.nn.Linear):
            tot[0] += o.numel() * m.in_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model(*inputs)
    for h in hs:
        h.remove()
    return tot[0] / inputs[0].shape[0]


class Report:
    def __init__(self, path):
        self.path = path
        self.d = json.load(open(path)) if os.path.exists(path) else {}

    def set(self, key, val):
        self.d[key] = val
        with open(self.path, "w") as f:
            json.dump(self.d, f, indent=1)


# ----------------------------------------------------------------------------- stages

def train_classifier(a, R):
    torch.manual_seed(a.seed + 1)
    g = torch.Generator().manual_seed(a.seed + 1)
    xtr, ytr = load_split("train")
    xte, yte = load_split("test")
    Xtr, Ytr = preprocess(xtr), torch.from_numpy(ytr)
    m = FMNISTClassifier(CLF_CFG)
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    sch = Schedule(a.clf_steps, None if a.no_time_cap else a.clf_minutes * 60, 50, 2e-3, floor=0.02)
    bs, step, losses = 128, 0, []
    perm = torch.randperm(len(Xtr), generator=g)
    pos = 0
    while True:
        p = sch.progress(step)
        if p >= 1:
            break
        set_lr(opt, sch.lr_at(step, p))
        if pos + bs > len(perm):
            perm, pos = torch.randperm(len(Xtr), generator=g), 0
        idx = perm[pos:pos + bs]
        pos += bs
        x = Xtr[idx]
        # light augmentation: random 1-px shifts (train split only)
        dx, dy = torch.randint(-1, 2, (2,), generator=g).tolist()
        x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
        loss = F.cross_entropy(m(x), Ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        step += 1
        if step % 100 == 0:
            log(f"clf step {step} loss {np.mean(losses[-100:]):.4f} lr {sch.lr_at(step, p):.2e}")
    m.eval()
    with torch.no_grad():
        Xte = preprocess(xte)
        pred = torch.cat([m(Xte[i:i + 1000]).argmax(1) for i in range(0, len(Xte), 1000)])
    acc = (pred.numpy() == yte).mean()
    acc500 = (pred.numpy()[:500] == yte[:500]).mean()
    log(f"clf done: {step} steps, test acc {acc:.4f} (first 500: {acc500:.4f})")
    torch.save(m.state_dict(), os.path.join(a.work, "clf.pt"))
    R.set("classifier", {"steps": step, "batch": bs, "final_loss_100": float(np.mean(losses[-100:])),
                         "test_accuracy_10k": float(acc), "test_accuracy_first500": float(acc500),
                         "params": nparams(m), "seconds": time.time() - sch.t0})


def train_vae(a, R):
    torch.manual_seed(a.seed + 2)
    g = torch.Generator().manual_seed(a.seed + 2)
    xtr, _ = load_split("train")
    Xtr = preprocess(xtr)[:, :1].contiguous()
    vae = AutoencoderKL(VAE_CFG)
    opt = torch.optim.Adam(vae.parameters(), lr=a.vae_lr)
    sch = Schedule(a.vae_steps, None if a.no_time_cap else a.vae_minutes * 60, 100, a.vae_lr)
    bs, step, hist = a.vae_batch, 0, []
    perm, pos = torch.randperm(len(Xtr), generator=g), 0
    last_ck = time.time()
    while True:
        p = sch.progress(step)
        if p >= 1:
            break
        set_lr(opt, sch.lr_at(step, p))
        if pos + bs > len(perm):
            perm, pos = torch.randperm(len(Xtr), generator=g), 0
        x = Xtr[perm[pos:pos + bs]].expand(-1, 3, -1, -1)
        pos += bs
        mean, logvar = vae.encode_moments(x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=g)
        y = vae.decode(z)
        l1 = (y - x).abs().mean()
        l2 = (y - x).pow(2).mean()
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum(dim=(1, 2, 3)).mean()
        loss = l1 + l2 + a.kl_weight * kl
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        hist.append([l1.item(), l2.item(), kl.item()])
        step += 1
        if step % 50 == 0:
            h = np.mean(hist[-50:], axis=0)
            psnr = 10 * math.log10(4.0 / max(h[1], 1e-12))
            log(f"vae step {step} l1 {h[0]:.4f} mse {h[1]:.5f} (psnr~{psnr:.2f}) kl {h[2]:.1f} p {p:.3f}")
        if time.time() - last_ck > 180:
            torch.save(vae.state_dict(), os.path.join(a.work, "vae.pt"))
            last_ck = time.time()
    torch.save(vae.state_dict(), os.path.join(a.work, "vae.pt"))
    h = np.mean(hist[-100:], axis=0)
    log(f"vae done: {step} steps")
    R.set("vae", {"steps": step, "batch": bs, "lr": a.vae_lr, "kl_weight": a.kl_weight,
                  "final_l1_100": float(h[0]), "final_mse_100": float(h[1]), "final_kl_100": float(h[2]),
                  "params": nparams(vae), "seconds": time.time() - sch.t0})


def load_vae(a, scaling=None):
    cfg = dict(VAE_CFG)
    cfg["scaling_factor"] = scaling
    vae = AutoencoderKL(cfg)
    vae.load_state_dict(torch.load(os.path.join(a.work, "vae.pt")))
    return vae.eval()


def encode_latents(a, R):
    torch.manual_seed(a.seed + 3)
    vae = load_vae(a)
    xtr, ytr = load_split("train")
    n = min(a.latent_images, len(xtr))  # first n train images (compute budget); the UNet trains on these
    xtr, ytr = xtr[:n], ytr[:n]
    t0 = time.time()
    means, stds = [], []
    with torch.no_grad():
        for i in range(0, len(xtr), 500):
            m, lv = vae.encode_moments(preprocess(xtr[i:i + 500]))
            means.append(m)
            stds.append(torch.exp(0.5 * lv))
    mean, std = torch.cat(means), torch.cat(stds)
    g = torch.Generator().manual_seed(a.seed + 3)
    z = mean + std * torch.randn(mean.shape, generator=g)
    sf = float("%.5g" % (1.0 / z.std().item()))
    log(f"latents: {tuple(mean.shape)} in {time.time() - t0:.0f}s; z mean {z.mean():.4f} std {z.std():.4f} "
        f"posterior std mean {std.mean():.4f} -> scaling_factor {sf}")
    torch.save({"mean": mean, "std": std, "labels": torch.from_numpy(ytr), "scaling_factor": sf},
               os.path.join(a.work, "latents.pt"))
    R.set("latents", {"scaling_factor": sf, "z_mean": z.mean().item(), "z_std": z.std().item(),
                      "posterior_std_mean": std.mean().item(),
                      "per_channel_std": z.std(dim=(0, 2, 3)).tolist(), "seconds": time.time() - t0})


def all_prompts():
    ps = [""]
    for names in CLASS_PROMPTS:
        for n in names:
            for t in dict.fromkeys(TEMPLATES):
                ps.append(t.format(n))
    return ps


def train_unet(a, R):
    torch.manual_seed(a.seed + 4)
    g = torch.Generator().manual_seed(a.seed + 4)
    lat = torch.load(os.path.join(a.work, "latents.pt"))
    sf = lat["scaling_factor"]
    mean, std, labels = lat["mean"], lat["std"], lat["labels"]
    tok = CLIPTokenizer(os.path.join(GOLDEN, "tokenizer"))
    prompts = all_prompts()
    pid = {p: i for i, p in enumerate(prompts)}
    ids = torch.tensor([tok(p) for p in prompts])
    # per class: prompt indices with template weights
    class_pids = []
    for names in CLASS_PROMPTS:
        lst = []
        for n in names:
            for t in TEMPLATES:
                lst.append(pid[t.format(n)])
        class_pids.append(torch.tensor(lst))

    unet = UNet2DConditionModel(UNET_CFG)
    te = CLIPTextModel(TEXT_CFG)
    with torch.no_grad():
        # token embeddings N(0, tok_init_std), positions N(0, 0.02) (transformers' CLIP init uses 0.02
        # for both; with 0.02 the prompts' text states stayed nearly identical and the UNet learned no
        # conditioning within our step budget, so tokens start large and distinct here)
        te.text_model.embeddings.token_embedding.weight.normal_(0, a.tok_init_std)
        te.text_model.embeddings.position_embedding.weight.normal_(0, 0.02)
    start_step = 0
    if a.unet_init:
        ck = torch.load(a.unet_init)
        unet.load_state_dict(ck["unet"])  # warm start from raw (not EMA) weights
        if a.warm_te:
            te.load_state_dict(ck["te"])
        start_step = ck["step"]
        log(f"UNet warm-started from {a.unet_init} (step {start_step}); text encoder "
            f"{'warm-started too' if a.warm_te else 'freshly initialised'}")
    # auxiliary head (training only, not exported): predicts the prompt's class (10 = empty prompt)
    # from the mean over all 77 text states, so that the padding positions -- 70+ of the 77 states
    # the UNet's cross-attention averages over -- carry the prompt's meaning early in training
    aux = torch.nn.Linear(TEXT_CFG["hidden_size"], 11)
    prompt_class = torch.full((len(prompts),), 10, dtype=torch.long)
    for c, names in enumerate(CLASS_PROMPTS):
        for n in names:
            for t in TEMPLATES:
                prompt_class[pid[t.format(n)]] = c
    ema_u, ema_t = copy.deepcopy(unet).eval(), copy.deepcopy(te).eval()
    params = list(unet.parameters()) + list(te.parameters()) + list(aux.parameters())
    opt = torch.optim.AdamW(params, lr=a.unet_lr, weight_decay=0.0)
    sch = Schedule(a.unet_steps, None if a.no_time_cap else a.unet_minutes * 60, 100, a.unet_lr, floor=0.1)
    ddim = DDIM()
    ac = ddim.alphas_cumprod
    bs, step, hist, aux_hist = a.unet_batch, 0, [], []
    perm, pos = torch.randperm(len(mean), generator=g), 0
    last_ck = time.time()
    R.set("unet_progress", {"steps": 0})
    while True:
        p = sch.progress(step)
        if p >= 1:
            break
        set_lr(opt, sch.lr_at(step, p))
        if pos + bs > len(perm):
            perm, pos = torch.randperm(len(mean), generator=g), 0
        idx = perm[pos:pos + bs]
        pos += bs
        z0 = (mean[idx] + std[idx] * torch.randn(mean[idx].shape, generator=g)) * sf
        y = labels[idx]
        # prompt per sample (15% empty)
        choice = torch.stack([class_pids[c][torch.randint(len(class_pids[c]), (1,), generator=g)][0] for c in y.tolist()])
        drop = torch.rand(bs, generator=g) < P_UNCOND
        choice = torch.where(drop, torch.zeros_like(choice), choice)
        uniq, inv = torch.unique(choice, return_inverse=True)
        ctx_u = te(ids[uniq])[0]
        ctx = ctx_u[inv]
        aux_loss = F.cross_entropy(aux(ctx_u.mean(1)), prompt_class[uniq])
        t = torch.randint(0, 1000, (bs,), generator=g)
        eps = torch.randn(z0.shape, generator=g)
        abar = ac[t][:, None, None, None]
        xt = abar.sqrt() * z0 + (1 - abar).sqrt() * eps
        mse = F.mse_loss(unet(xt, t, ctx), eps)
        loss = mse + a.aux_weight * aux_loss
        opt.zero_grad()
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema_update(ema_u, unet, step, a.ema)
        ema_update(ema_t, te, step, a.ema)
        hist.append(mse.item())
        aux_hist.append(aux_loss.item())
        step += 1
        if step % 25 == 0:
            log(f"unet step {step} loss {np.mean(hist[-25:]):.4f} aux {np.mean(aux_hist[-25:]):.3f} gn {gn:.2f} lr {sch.lr_at(step, p):.2e} p {p:.3f}")
        if time.time() - last_ck > a.ckpt_minutes * 60:
            save_unet(a, ema_u, ema_t, unet, te, step)
            R.set("unet_progress", {"steps": step, "loss_100": float(np.mean(hist[-100:]))})
            export(a, R, partial=True)
            last_ck = time.time()
    save_unet(a, ema_u, ema_t, unet, te, step)
    log(f"unet done: {step} steps")
    curve = [float(np.mean(hist[i:i + 100])) for i in range(0, len(hist), 100)]
    R.set("unet", {"steps": step, "warm_start": a.unet_init, "warm_start_steps": start_step,
                   "tok_init_std": a.tok_init_std, "aux_weight": a.aux_weight,
                   "final_aux_loss_100": float(np.mean(aux_hist[-100:])), "batch": bs, "lr": a.unet_lr, "ema": a.ema, "p_uncond": P_UNCOND,
                   "final_loss_100": float(np.mean(hist[-100:])), "loss_per_100_steps": curve,
                   "unet_params": nparams(unet), "text_encoder_params": nparams(te),
                   "seconds": time.time() - sch.t0})


def save_unet(a, ema_u, ema_t, unet, te, step):
    torch.save({"unet_ema": ema_u.state_dict(), "te_ema": ema_t.state_dict(),
                "unet": unet.state_dict(), "te": te.state_dict(), "step": step},
               os.path.join(a.work, "unet.pt"))


# ----------------------------------------------------------------------------- export / eval

def full_config(base_path, overrides, drop=()):
    cfg = json.load(open(base_path))
    cfg.update(overrides)
    for k in drop:
        cfg.pop(k, None)
    return cfg


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def export(a, R, partial=False):
    out = a.out
    os.makedirs(out, exist_ok=True)
    meta = {"format": "pt"}
    # tokenizer, scheduler, model_index
    os.makedirs(os.path.join(out, "tokenizer"), exist_ok=True)
    for f in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copyfile(os.path.join(GOLDEN, "tokenizer", f), os.path.join(out, "tokenizer", f))
    os.makedirs(os.path.join(out, "scheduler"), exist_ok=True)
    shutil.copyfile(os.path.join(GOLDEN, "scheduler/scheduler_config.json"), os.path.join(out, "scheduler/scheduler_config.json"))
    shutil.copyfile(os.path.join(GOLDEN, "model_index.json"), os.path.join(out, "model_index.json"))
    # held-out test images
    xte, yte = load_split("test")
    st.save(os.path.join(out, "testset.safetensors"),
            {"images": np.ascontiguousarray(xte[:500]), "labels": yte[:500].astype(np.int64)},
            {"source": "Fashion-MNIST t10k (MIT), first 500 images; never used for training",
             "class_names": json.dumps(CLASS_NAMES)})
    # classifier
    if os.path.exists(os.path.join(a.work, "clf.pt")):
        os.makedirs(os.path.join(out, "classifier"), exist_ok=True)
        cfg = dict(CLF_CFG)
        cfg.update({"class_names": CLASS_NAMES, "input": "[N,3,32,32] in [-1,1] (Fashion-MNIST 28x28 padded by 2 px of -1, grey x3)",
                    "architecture": "for i: x = SiLU(GroupNorm_i(Conv2d_i(x))) [convs.i / norms.i]; "
                                    "f = SiLU(fc_feat(flatten_NCHW(x))) (FID feature); logits = fc_out(f)",
                    "test_accuracy": R.d.get("classifier", {}).get("test_accuracy_10k")})
        write_json(os.path.join(out, "classifier/config.json"), cfg)
        st.save_torch(os.path.join(out, "classifier/model.safetensors"), torch.load(os.path.join(a.work, "clf.pt")), metadata=meta)
    # vae
    sf = None
    if os.path.exists(os.path.join(a.work, "latents.pt")):
        sf = torch.load(os.path.join(a.work, "latents.pt"))["scaling_factor"]
    if os.path.exists(os.path.join(a.work, "vae.pt")):
        os.makedirs(os.path.join(out, "vae"), exist_ok=True)
        ov = dict(VAE_CFG)
        ov["scaling_factor"] = sf if sf is not None else 1.0
        write_json(os.path.join(out, "vae/config.json"), full_config(os.path.join(GOLDEN, "vae/config.json"), ov))
        st.save_torch(os.path.join(out, "vae/diffusion_pytorch_model.safetensors"), torch.load(os.path.join(a.work, "vae.pt")), metadata=meta)
    # unet + text encoder (EMA weights)
    if os.path.exists(os.path.join(a.work, "unet.pt")):
        ck = torch.load(os.path.join(a.work, "unet.pt"))
        os.makedirs(os.path.join(out, "unet"), exist_ok=True)
        os.makedirs(os.path.join(out, "text_encoder"), exist_ok=True)
        write_json(os.path.join(out, "unet/config.json"), full_config(os.path.join(GOLDEN, "unet/config.json"), UNET_CFG))
        st.save_torch(os.path.join(out, "unet/diffusion_pytorch_model.safetensors"), ck["unet_ema"], metadata=meta)
        write_json(os.path.join(out, "text_encoder/config.json"), full_config(os.path.join(GOLDEN, "text_encoder/config.json"), TEXT_CFG))
        st.save_torch(os.path.join(out, "text_encoder/model.safetensors"), ck["te_ema"], metadata=meta)
        log(f"exported {'partial ' if partial else ''}pipeline (unet step {ck['step']}) to {out}")


def load_pipeline(folder):
    def ld(sub, cls, fn):
        cfg = json.load(open(os.path.join(folder, sub, "config.json")))
        m = cls(cfg)
        m.load_state_dict({k: v.float() for k, v in st.load_torch(os.path.join(folder, sub, fn)).items()}, strict=True)
        return m.eval(), cfg
    unet, ucfg = ld("unet", UNet2DConditionModel, "diffusion_pytorch_model.safetensors")
    vae, vcfg = ld("vae", AutoencoderKL, "diffusion_pytorch_model.safetensors")
    te, _ = ld("text_encoder", CLIPTextModel, "model.safetensors")
    clf, _ = ld("classifier", FMNISTClassifier, "model.safetensors")
    return unet, vae, te, clf, vcfg["scaling_factor"]


@torch.no_grad()
def sample(unet, vae, te, tok, sf, prompts, n_steps=20, guidance=3.0, seed=0, batch=250):
    """DDIM (eta 0) + classifier-free guidance exactly like StableDiffusionPipeline; returns [-1,1] images."""
    ddim = DDIM()
    ts = ddim.timesteps(n_steps)
    unc = te(torch.tensor([tok("")]))[0]
    out = []
    g = torch.Generator().manual_seed(seed)
    for i in range(0, len(prompts), batch):
        ps = prompts[i:i + batch]
        cond = te(torch.tensor([tok(p) for p in ps]))[0]
        ctx = torch.cat([unc.expand(len(ps), -1, -1), cond])
        x = torch.randn((len(ps), 4, 8, 8), generator=g)
        for t in ts:
            e = unet(torch.cat([x, x]), torch.tensor(t), ctx)
            eu, ec = e.chunk(2)
            x, _ = ddim.step(eu + guidance * (ec - eu), t, x, n_steps)
        out.append(vae.decode(x / sf))
    return torch.cat(out)


def fid(f1, f2):
    f1, f2 = f1.double().numpy(), f2.double().numpy()
    m1, m2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    w, v = np.linalg.eigh(s1)
    s1h = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    ev = np.linalg.eigvalsh(s1h @ s2 @ s1h)
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(ev, 0, None)).sum())


def evaluate(a, R):
    torch.manual_seed(a.seed + 5)
    unet, vae, te, clf, sf = load_pipeline(a.out)
    tok = CLIPTokenizer(os.path.join(a.out, "tokenizer"))
    xte, yte = load_split("test")
    X = preprocess(xte[:500])
    with torch.no_grad():
        mean, _ = vae.encode_moments(X)
        rec = vae.decode(mean).clamp(-1, 1)
    mse = ((rec - X) / 2).pow(2).mean(dim=(1, 2, 3))
    psnr = float((10 * torch.log10(1.0 / mse)).mean())
    psnr_c = float((10 * torch.log10(1.0 / ((rec - X) / 2).pow(2)[:, :, 2:30, 2:30].mean(dim=(1, 2, 3)))).mean())
    log(f"VAE PSNR on 500 held-out test images: {psnr:.2f} dB (32x32), {psnr_c:.2f} dB (inner 28x28)")
    # conditional generation: 50 per class, canonical prompt
    t0 = time.time()
    per = 5 if SMOKE else a.eval_per_class
    prompts = [CLASS_PROMPTS[c][0] for c in range(10) for _ in range(per)]
    imgs = sample(unet, vae, te, tok, sf, prompts, n_steps=20, guidance=a.guidance, seed=a.seed + 6)
    labels = torch.tensor([c for c in range(10) for _ in range(per)])
    with torch.no_grad():
        gen_feat = clf.features(imgs.clamp(-1, 1))
        gen_acc = float((clf.fc_out(gen_feat).argmax(1) == labels).float().mean())
        test_feat = clf.features(X)
        rec_feat = clf.features(rec)
    fd = fid(gen_feat, test_feat)
    fd_rec = fid(rec_feat, test_feat)
    log(f"generation (20 DDIM steps, CFG {a.guidance}): classifier agreement {gen_acc:.3f}, "
        f"FD(gen {len(prompts)} vs test 500) {fd:.2f}, FD(VAE recon vs test) {fd_rec:.2f}, {time.time() - t0:.0f}s")
    # unconditional
    imgs_u = sample(unet, vae, te, tok, sf, [""] * (5 * per), n_steps=20, guidance=1.0, seed=a.seed + 7)
    with torch.no_grad():
        fu = clf.features(imgs_u.clamp(-1, 1))
        hist = np.bincount(clf.fc_out(fu).argmax(1).numpy(), minlength=10)
    fd_u = fid(fu, test_feat)
    log(f"unconditional (prompt '', no guidance): FD {fd_u:.2f}, predicted class histogram {hist.tolist()}")
    R.set("eval", {"vae_psnr_test500_32px": psnr, "vae_psnr_test500_inner28": psnr_c,
                   "gen_guidance": a.guidance, "gen_ddim_steps": 20,
                   "gen_samples": len(prompts), "gen_classifier_agreement": gen_acc, "fd_gen_vs_test500": fd,
                   "fd_vae_recon_vs_test500": fd_rec, "fd_uncond_vs_test500": fd_u,
                   "uncond_class_histogram": hist.tolist()})
    # sample grid: one row per class, 10 columns
    from PIL import Image, ImageDraw
    ncol = 8
    grid_prompts = [CLASS_PROMPTS[c][0] for c in range(10) for _ in range(ncol)]
    gi = sample(unet, vae, te, tok, sf, grid_prompts, n_steps=20, guidance=a.guidance, seed=a.seed + 8)
    gi = ((gi.clamp(-1, 1) + 1) * 127.5).round().byte()[:, 0].numpy()
    s, lw = 64, 110
    canvas = Image.new("L", (lw + ncol * s, 10 * s), 255)
    d = ImageDraw.Draw(canvas)
    for r in range(10):
        d.text((4, r * s + s // 2 - 6), CLASS_PROMPTS[r][0], fill=0)
        for c in range(ncol):
            canvas.paste(Image.fromarray(gi[r * ncol + c]).resize((s, s), Image.NEAREST), (lw + c * s, r * s))
    canvas.save(os.path.join(a.out, "samples.png"), optimize=True)
    # VAE reconstruction strip: row 1 originals, row 2 reconstructions (first 16 test images)
    o = ((torch.cat([X[:16], rec[:16]]) + 1) * 127.5).round().byte()[:, 0].numpy()
    strip = Image.new("L", (16 * 64, 128), 255)
    for i in range(32):
        strip.paste(Image.fromarray(o[i]).resize((64, 64), Image.NEAREST), ((i % 16) * 64, (i // 16) * 64))
    strip.save(os.path.join(a.out, "vae_recon.png"), optimize=True)
    # cost figures for Tether
    ucfg = json.load(open(os.path.join(a.out, "unet/config.json")))
    R.set("cost", {
        "unet_macs_per_sample_8x8": macs_per_sample(unet, torch.zeros(1, 4, 8, 8), torch.tensor([1]), torch.zeros(1, 77, ucfg["cross_attention_dim"])),
        "vae_encoder_macs_32px": macs_per_sample(vae.encoder, torch.zeros(1, 3, 32, 32)),
        "vae_decoder_macs_32px": macs_per_sample(vae.decoder, torch.zeros(1, 4, 8, 8)),
        "text_encoder_macs": macs_per_sample(te, torch.zeros(1, 77, dtype=torch.long)),
        "classifier_macs": macs_per_sample(clf, torch.zeros(1, 3, 32, 32)),
        "note": "conv + linear multiply-accumulates only (attention score/value matmuls excluded)",
        "params": {"unet": nparams(unet), "vae": nparams(vae), "text_encoder": nparams(te), "classifier": nparams(clf)},
    })
    shutil.copyfile(R.path, os.path.join(a.out, "train_report.json"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stages", default="clf,vae,latents,unet,eval")
    ap.add_argument("--work", default="/tmp/fmnist_work")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "weights", "fmnist"))
    ap.add_argument("--seed", type=int, default=20241118)
    ap.add_argument("--threads", type=int, default=1)  # 1 thread: far faster than 2 on a shared 2-core box
    ap.add_argument("--no-time-cap", action="store_true")
    ap.add_argument("--clf-steps", type=int, default=1400)
    ap.add_argument("--clf-minutes", type=float, default=5)
    ap.add_argument("--vae-steps", type=int, default=3000)
    ap.add_argument("--vae-minutes", type=float, default=17)
    ap.add_argument("--vae-batch", type=int, default=32)
    ap.add_argument("--vae-lr", type=float, default=1e-3)
    ap.add_argument("--kl-weight", type=float, default=1e-6)
    ap.add_argument("--unet-steps", type=int, default=3000)
    ap.add_argument("--unet-minutes", type=float, default=50)
    ap.add_argument("--unet-batch", type=int, default=64)
    ap.add_argument("--unet-lr", type=float, default=1e-3)
    ap.add_argument("--ema", type=float, default=0.995)
    ap.add_argument("--tok-init-std", type=float, default=1.0)
    ap.add_argument("--unet-init", default=None, help="warm-start the UNet from a unet.pt checkpoint")
    ap.add_argument("--warm-te", action="store_true", help="with --unet-init: also warm-start the text encoder")
    ap.add_argument("--aux-weight", type=float, default=0.1, help="weight of the text-state class loss")
    ap.add_argument("--ckpt-minutes", type=float, default=8)
    ap.add_argument("--latent-images", type=int, default=30000)
    ap.add_argument("--eval-per-class", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--smoke", action="store_true", help="2000 train images, few eval samples (pipeline test)")
    a = ap.parse_args()
    global SMOKE
    SMOKE = a.smoke
    torch.set_num_threads(a.threads)
    os.makedirs(a.work, exist_ok=True)
    R = Report(os.path.join(a.work, "report.json"))
    R.set("args", vars(a))
    stages = a.stages.split(",")
    t0 = time.time()
    for s in stages:
        log(f"=== stage {s}")
        if s == "clf":
            train_classifier(a, R)
        elif s == "vae":
            train_vae(a, R)
        elif s == "latents":
            encode_latents(a, R)
        elif s == "unet":
            train_unet(a, R)
        elif s == "export":
            pass
        elif s == "eval":
            pass
        else:
            raise SystemExit(f"unknown stage {s}")
        export(a, R)
        if s == "eval":
            evaluate(a, R)
    log(f"all done in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
