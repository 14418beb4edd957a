// Recognises common files that are handed to the loader by mistake, so the error says what the
// file is ("a PyTorch pickle checkpoint") instead of "header length 9.8e18 is too large".

const PICKLE_HINT =
  'convert it to .safetensors first, e.g. with diffusers\' scripts/convert_original_stable_diffusion_to_diffusers.py ' +
  '(--from_safetensors not set, --to_safetensors), or in Python: ' +
  "safetensors.torch.save_file(torch.load(path, map_location='cpu', weights_only=True)['state_dict'], 'model.safetensors'). " +
  'Tether never unpickles files: loading a pickle can run arbitrary code';

/** A description of what the bytes look like when they are clearly not safetensors, else null. */
export function sniffNonSafetensors(head: Uint8Array): string | null {
  const b = (i: number) => head[i] ?? -1;
  // Pickle protocol 2..5 starts with PROTO (0x80) then the protocol number (torch.save legacy format).
  if (b(0) === 0x80 && b(1) >= 2 && b(1) <= 5) return `this is a PyTorch pickle checkpoint (.ckpt/.pt/.bin); ${PICKLE_HINT}`;
  // torch.save's default (zip) format since PyTorch 1.6; .ckpt files are usually this.
  if (b(0) === 0x50 && b(1) === 0x4b && b(2) === 0x03 && b(3) === 0x04) {
    return `this is a PyTorch pickle checkpoint (a zip archive: .ckpt/.pt/.bin); ${PICKLE_HINT}`;
  }
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return 'this is a PNG image, not a safetensors file';
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return 'this is a JPEG image, not a safetensors file';
  if (b(0) === 0x47 && b(1) === 0x47 && b(2) === 0x55 && b(3) === 0x46) return 'this is a GGUF file, not a safetensors file';
  // A JSON/text file: safetensors starts with a binary length, never with '{', '[' or whitespace.
  if (b(0) === 0x7b || b(0) === 0x5b) return 'this looks like a JSON file, not a safetensors file (did you pass config.json or an index file?)';
  if (b(0) === 0x3c) return 'this looks like an HTML/XML file, not a safetensors file (a download error page or a Git LFS problem?)';
  const text = String.fromCharCode(...head.subarray(0, 40));
  if (text.startsWith('version https://git-lfs')) return 'this is a Git LFS pointer file, not the weights: run `git lfs pull`';
  return null;
}
