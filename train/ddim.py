"""DDIM scheduler with SD 1.4 settings, computed like diffusers' DDIMScheduler (float32 tables)."""
import torch


class DDIM:
    def __init__(self, num_train=1000, beta_start=0.00085, beta_end=0.012, steps_offset=1):
        self.num_train = num_train
        self.steps_offset = steps_offset
        self.betas = torch.linspace(beta_start ** 0.5, beta_end ** 0.5, num_train, dtype=torch.float32) ** 2
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
        self.final_alpha_cumprod = self.alphas_cumprod[0]  # set_alpha_to_one=False

    def timesteps(self, n):
        """'leading' spacing + steps_offset."""
        ratio = self.num_train // n
        return [int(i * ratio + self.steps_offset) for i in reversed(range(n))]

    def step(self, eps, t, x, n, eta=0.0, generator=None):
        prev = t - self.num_train // n
        a_t = self.alphas_cumprod[t]
        a_prev = self.alphas_cumprod[prev] if prev >= 0 else self.final_alpha_cumprod
        x0 = (x - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5
        var = (1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)
        std = eta * var ** 0.5
        out = a_prev ** 0.5 * x0 + (1 - a_prev - std ** 2) ** 0.5 * eps
        if eta > 0:
            out = out + std * torch.randn(x.shape, generator=generator)
        return out, x0
