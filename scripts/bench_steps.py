# PyTorch twins of drsae's model benchmarks (bench/drsae.go, bench/sparse.go), run by
# scripts/bench-steps.sh: prints "name seconds-per-step" for each case, the mean over the time
# it is given (as go test -bench reports ns/op).
#
#   bench_steps.py THREADS SECONDS all|drsae|lista|fista|conv|topo
import sys, time
import torch
import torch.nn.functional as F

threads, secs, which = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
torch.set_num_threads(threads)
torch.manual_seed(1)

def timed(fn):
    fn()
    count, t0 = 0, time.perf_counter()
    while True:
        fn()
        count += 1
        t = time.perf_counter() - t0
        if t >= secs:
            return t / count

# The DrSAE step of bench/drsae.go: the encoder's T steps, decoder, normalized linear classifier,
# loss ½‖x − Dz‖² + λ‖z‖₁ − log p_y (the discriminative phase), backpropagation by autograd,
# SGD with momentum 0.9, and the three norm projections every 5 steps.
def drsae_step(B, m, T, n=784, k=10, lam=0.5):
    E = (torch.randn(m, n) * 0.01).requires_grad_()
    S = (torch.randn(m, m) * 0.01).requires_grad_()
    b = torch.zeros(m, requires_grad=True)
    D = (torch.randn(n, m) * 0.01).requires_grad_()
    C = (torch.randn(k, m) * 0.01).requires_grad_()
    opt = torch.optim.SGD([E, S, b, D, C], lr=1e-4, momentum=0.9)
    xs = torch.rand(B, n)
    y = torch.arange(B) % 10
    count = [0]
    def step():
        x = xs.clone()  # a new minibatch every step, as drsae's benchmark uploads one
        c = x @ E.T - b
        z = torch.relu(c)
        for _ in range(T - 1):
            z = torch.relu(c + z @ S.T)
        r = x - z @ D.T
        logits = (z / torch.sqrt(1e-4 + (z * z).sum(1, keepdim=True))) @ C.T
        loss = 0.5 * (r * r).sum(1).mean() + lam * z.sum(1).mean() + F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
        count[0] += 1
        if count[0] % 5 == 0:  # the projections every 5 steps
            with torch.no_grad():
                D.div_(D.norm(dim=0, keepdim=True).clamp(min=1))
                E.mul_((1.25 / (T - 1)) / E.norm(dim=1, keepdim=True).clamp(min=1.25 / (T - 1)))
                C.mul_(5 / C.norm(dim=1, keepdim=True).clamp(min=5))
    return step

# The LISTA encoder of bench/sparse.go: c = E·x, z¹ = h(c), z^{t+1} = h(c + S·z^t) for T steps
# in all, h the two-sided shrinkage.
def lista_forward(T, B=256, n=784, m=400):
    E = torch.randn(m, n) * 0.01
    S = torch.randn(m, m) * 0.01
    th = torch.full((m,), 0.01)
    x = torch.rand(B, n)
    def fwd():
        with torch.no_grad():
            c = x @ E.T
            z = torch.sign(c) * torch.relu(c.abs() - th)
            for _ in range(T - 1):
                a = c + z @ S.T
                z = torch.sign(a) * torch.relu(a.abs() - th)
    return fwd

# FISTA of bench/sparse.go (model.SparseCoder in its Gram form): c = X·D/L once per call, then
# 50 iterations of z = h_θ(c + y·S), S = I − DᵀD/L, and the momentum step.
def fista(B=256, n=784, m=400, lam=0.1, iters=50):
    D = torch.randn(n, m)
    D /= D.norm(dim=0, keepdim=True)
    L = torch.linalg.eigvalsh(D.T @ D).max().item()
    S = torch.eye(m) - D.T @ D / L
    x = torch.rand(B, n)
    def run():
        with torch.no_grad():
            c = x @ D / L
            zprev = torch.zeros(B, m)
            y, t = zprev, 1.0
            for _ in range(iters):
                z = F.softshrink(torch.addmm(c, y, S), lam / L)
                tn = (1 + (1 + 4 * t * t) ** 0.5) / 2
                beta, t = (t - 1) / tn, tn
                y, zprev = (1 + beta) * z - beta * zprev, z
    return run

# The convolutional group-sparse auto-encoder step of bench/conv.go (model/conv at its defaults):
# z = g·max(0, W⋆x − b), x̂ = D⋆ᵀz, loss ½‖x − x̂‖² + λ Σ_cells √(ε + Σ z²) over 2×2 windows of
# 2 maps, autograd, SGD with momentum 0.9, and the decoder's projection every step.
def conv_step(side, B, K, f=9, lam=0.1, eps=1e-4):
    W = (torch.randn(K, 1, f, f) * 0.1).requires_grad_()
    b = torch.zeros(K, requires_grad=True)
    g = torch.ones(K, requires_grad=True)
    D = W.detach().clone().requires_grad_()
    opt = torch.optim.SGD([W, b, g, D], lr=1e-4, momentum=0.9)
    xs = torch.sin(torch.arange(B * side * side, dtype=torch.float32)).reshape(B, 1, side, side)
    def step():
        x = xs.clone()
        z = g[None, :, None, None] * F.relu(F.conv2d(x, W) - b[None, :, None, None])
        r = x - F.conv_transpose2d(z, D)
        s = F.avg_pool2d(z * z, 2, 2) * 4
        s = s.view(B, K // 2, 2, s.shape[2], s.shape[3]).sum(2)
        loss = (0.5 * (r * r).sum() + lam * torch.sqrt(eps + s).sum()) / B
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
        with torch.no_grad():
            D.div_(D.flatten(1).norm(dim=1).clamp(min=1)[:, None, None, None])
    return step

# The topographic auto-encoder step of bench/topo.go (model/topo at its defaults: 12×12 patches,
# a 16×16 torus of units, 5×5 Gaussian pools of σ 1.5 normalized to sum 1, λ 0.5): z = g·max(0,
# W_e·x − b), loss ½‖x − Dz‖² + λ Σ_j √(ε + Σ_i w_ji z_i²) with the pools as a circular 5×5
# convolution of z², autograd, SGD with momentum 0.9, D's columns renormalized every step.
def topo_step(B, n=144, side=16, lam=0.5, eps=1e-4, sigma=1.5, window=5):
    m = side * side
    We = (torch.randn(m, n) * 0.05).requires_grad_()
    b = torch.zeros(m, requires_grad=True)
    g = torch.ones(m, requires_grad=True)
    D = We.detach().T.clone().requires_grad_()
    opt = torch.optim.SGD([We, b, g, D], lr=1e-4, momentum=0.9)
    r = torch.arange(window, dtype=torch.float32) - window // 2
    w = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma * sigma))
    w = (w / w.sum())[None, None]
    xs = torch.sin(torch.arange(B * n, dtype=torch.float32)).reshape(B, n)
    def step():
        x = xs.clone()
        z = g * torch.relu(x @ We.T - b)
        r_ = x - z @ D.T
        q = F.pad((z * z).view(B, 1, side, side), (window // 2,) * 4, mode="circular")
        loss = 0.5 * (r_ * r_).sum(1).mean() + lam * torch.sqrt(eps + F.conv2d(q, w)).sum((1, 2, 3)).mean()
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
        with torch.no_grad():
            D.div_(D.norm(dim=0, keepdim=True))
    return step

cases = []
if which in ("all", "drsae"):
    for B, m, T in ((256, 400, 11), (50, 400, 11), (10, 400, 11), (50, 200, 5), (256, 200, 5)):
        cases.append(("DrSAEStep/B%d-784-%d-T%d" % (B, m, T), drsae_step(B, m, T)))
if which in ("all", "lista"):
    for T in (1, 3, 10):
        cases.append(("LISTAForward/T%d/B256-784-400" % T, lista_forward(T)))
if which in ("all", "fista"):
    cases.append(("FISTA/fista/B256-784-400", fista()))
if which in ("all", "conv"):
    cases.append(("ConvStep/28x28/B256/K32", conv_step(28, 256, 32)))
    cases.append(("ConvStep/256x256/B8/K64", conv_step(256, 8, 64)))
if which in ("all", "topo"):
    for B in (16, 64, 256):
        cases.append(("TopoStep/autoencoder/B%d" % B, topo_step(B)))
for name, fn in cases:
    print(name, timed(fn), flush=True)
