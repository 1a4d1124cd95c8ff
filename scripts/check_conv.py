# check_conv.py MODEL.safetensors CODES.safetensors MNIST_DIR: an independent check of a saved conv
# model (a single layer or a stack) with PyTorch's conv2d and conv_transpose2d. It reads the
# model, its JSON config and the codes that `drsae encode --model MODEL --out CODES` wrote for the
# MNIST test set by hand, recomputes the codes, the reconstruction and the loss terms from the
# formulas of docs/conv.md, and prints how far the codes are from drsae's and the loss terms that
# `drsae eval --model MODEL` must print. A model trained with contrast_sigma has its images
# contrast normalized first, by the formula of docs/conv.md. Needs python3-torch and
# python3-numpy (Debian).
import gzip, json, math, struct, sys
import numpy as np
import torch
import torch.nn.functional as F

def load(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    hdr = json.loads(raw[8:8+n]); base = 8 + n
    t = {}
    for k, v in hdr.items():
        if k == '__metadata__': continue
        a, b = v['data_offsets']
        t[k] = torch.from_numpy(np.frombuffer(raw[base+a:base+b], dtype='<f4').reshape(v['shape']).astype(np.float64))
    return t

def contrast_norm(x, sigma):
    """The local contrast normalization of docs/conv.md for images x [N, C, H, W]: the Gaussian
    window k_p·k_q/C of width sigma (to 3σ, or the image's size), its weights renormalized to
    sum to 1 inside the image at each pixel, the floor 10⁻⁴."""
    N, C, H, W = x.shape
    r = int(min(math.ceil(3 * sigma), max(H, W) - 1))
    d = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-d * d / (2 * sigma * sigma))
    k = k / k.sum()
    w = (k[:, None] * k[None, :])[None, None]
    inside = F.conv2d(torch.ones(1, 1, H, W, dtype=torch.float64), w, padding=r)
    wc = w.expand(1, C, -1, -1) / C
    v = x - F.conv2d(x, wc, padding=r) / inside
    sd = torch.sqrt(F.conv2d(v * v, wc, padding=r) / inside)
    floor = torch.maximum(sd.mean((2, 3), keepdim=True), sd).clamp(min=1e-4)
    return v / floor

def bottom(c):
    """The config of the first layer of the stack c."""
    while c.get('below_config'):
        c = c['below_config']
    return c

def encode(c, t, x, prefix=''):
    """The code z and the complex cells p of the layer c (its layers beneath first)."""
    if c.get('below_config'):
        _, x = encode(c['below_config'], t, x, 'below.' + prefix)
    W, b, g = t[prefix+'W'], t[prefix+'b'], t[prefix+'g']
    z = g[None,:,None,None] * F.relu(F.conv2d(x, W, stride=c['stride'], padding=c['pad']) - b[None,:,None,None])
    G, gs = c['group'], c['group_stride'] or c['group']
    # Σ z² over each Pool×Pool window of each map, then over groups of G maps at stride gs.
    s = F.avg_pool2d(z*z, c['pool'], c['pool_stride']) * c['pool']**2
    groups = (z.shape[1] - G)//gs + 1
    q = torch.stack([s[:, k*gs:k*gs+G].sum(1) for k in range(groups)], 1)
    return z, x, torch.sqrt(c['eps'] + q)

def encode_layer(c, t, x):
    """z, the layer's input (the images, or the features beneath) and the cells p."""
    xin = x
    if c.get('below_config'):
        _, _, xin = encode(c['below_config'], t, x, 'below.')
    z, _, p = encode(dict(c, below_config=None), t, xin)
    return z, xin, p

model, codes, mnist = sys.argv[1:4]
t = load(model)
cfg = json.load(open(model.replace('.safetensors', '.json')))
d = gzip.open(mnist + '/t10k-images-idx3-ubyte.gz').read()
x = np.frombuffer(d[16:], dtype=np.uint8).reshape(-1, 1, 28, 28).astype(np.float64) / 255
n = load(codes)['codes'].shape[0]
x = torch.from_numpy(x[:n])
if bottom(cfg).get('contrast_sigma', 0) > 0:
    x = contrast_norm(x, bottom(cfg)['contrast_sigma'])
z, xin, p = encode_layer(cfg, t, x)
H, S, P = xin.shape[2], cfg['stride'], cfg['pad']
xhat = F.conv_transpose2d(z, t['D'], stride=S, padding=P, output_padding=(H + 2*P - cfg['filter']) % S)
zd = load(codes)['codes'].reshape(z.shape)
rel = (zd - z).norm() / z.norm()
recon = 0.5 * ((xhat - xin)**2).sum() / n
pen = p.sum() / n
print(f"{model}: {n} test images; codes: relative L2 distance to drsae's {rel:.2e}")
print(f"recon {recon:.6g}, penalty {pen:.6g}, loss {recon + cfg['lambda']*pen:.6g}, active {(z > 0).double().mean():.6g}")
