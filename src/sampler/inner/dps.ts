// Gradient baseline (ours; issue 15): the paper's loop with the DPS-style direction. Where the
// method moves x_t along J d (two forward passes), gradient methods (DPS, FreeDoM, MPGD; the
// paper's baselines, arXiv 2410.18804 sec. 5) move along J^T d, which needs backpropagation
// through the UNet:
//     J = d x0 / d x_t = (I - sqrt(1 - ab) J_eps) / sqrt(ab)       (x0 = (x - sqrt(1-ab) eps) / sqrt(ab))
//     g = J^T d = (d - sqrt(1 - ab) J_eps^T d) / sqrt(ab) = x0(d, J_eps^T d)   (x0 is linear in (x, eps))
//     x <- x + lr[k] g / max|g|          normalised like Newton's (infinity norm, per sample)
// d is the constraint's exact gradient (Constraint.gradient), not Newton's direction: for latent
// inpainting they coincide (M_lat (z_y - x0)); for the pixel-space constraints (super-resolution,
// deblurring, colourisation, pixel inpainting) d = D^T A^T (y - A(D(x0))) backpropagates through
// the VAE decoder too (src/vae/vjp), as the authors' super-resolution direction does (official), so
//     g = J^T D^T A^T (y - A(D(x0)))
// where Newton pulls A^T (y - A(D(x0))) back through the encoder (method.md decision 1, ours).
// Per inner step: one VJP (src/unet/vjp: a tape forward plus its backward) and one forward for the
// new x0, i.e. 1 + 2K counted evaluations per diffusion step, as the exact schedule; a pixel
// constraint adds a decode and a decoder VJP (a tape decode and its backward), uncounted. K is fixed
// (the 'auto' stopping policy is not consulted here).
import { directionUpdate } from '../newton_step.js';
import type { InnerMethod } from './inner_method.js';

export const dps: InnerMethod = {
  name: 'dps',
  async run(step, state) {
    const vjp = step.epsVjp;
    if (!vjp) throw new Error("method 'dps' needs the noise model's vector-Jacobian product (SampleRequest.denoiseVjp)");
    const gradient = step.gradient;
    if (!gradient) throw new Error("method 'dps' needs the constraint's latent-space gradient (Constraint.gradient; pixel constraints: the codec's decodeGradient)");
    for (let k = 0; k < step.K; k++) {
      const { x, x0 } = state, o = step.observe.at(`k${k}`);
      state = await step.ctx.scope(async () => {
        const d = await gradient(x0, o);                                  // -grad_{x0} of the constraint's loss
        const jtd = await vjp(x, d);                                      // J_eps^T d (backprop through the UNet)
        const g = step.x0(d, jtd);                                        // (d x0/d x_t)^T d
        (step as typeof step & { took?: () => void }).took?.();           // counts the inner step where the loop counts them
        const xNext = directionUpdate(step.ctx, x, g, step.lr[k]!);      // x + lr g / max|g|
        await o.record({ d, g });
        const next = await step.evaluate(xNext);
        await o.record({ x: next.x });
        return next;
      });
    }
    return state;
  },
};
