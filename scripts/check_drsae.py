# check_drsae.py MODEL.safetensors MNIST_DIR: an independent check of a saved DrSAE. It reads the
# safetensors file and its JSON config by hand, and MNIST's gzipped IDX test files, and scores the
# test set with the paper's equations in float64 numpy (only numpy: python3-numpy on Debian).
import gzip, json, struct, sys
import numpy as np
path = sys.argv[1]; mnist = sys.argv[2]
raw = open(path, 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
hdr = json.loads(raw[8:8+n]); base = 8 + n
t = {}
for k, v in hdr.items():
    if k == '__metadata__': continue
    a, b = v['data_offsets']
    assert v['dtype'] == 'F32'
    t[k] = np.frombuffer(raw[base+a:base+b], dtype='<f4').reshape(v['shape']).astype(np.float64)
cfg = json.load(open(path.replace('.safetensors', '.json')))
def idx(f):
    d = gzip.open(f).read()
    nd = d[3]; dims = struct.unpack('>' + 'I'*nd, d[4:4+4*nd])
    return np.frombuffer(d[4+4*nd:], dtype=np.uint8).reshape(dims)
x = idx(mnist + '/t10k-images-idx3-ubyte.gz').reshape(10000, -1).astype(np.float64) / 255
y = idx(mnist + '/t10k-labels-idx1-ubyte.gz').astype(int)
x /= np.linalg.norm(x, axis=1, keepdims=True)
E, S, b, D, C = (t[k] for k in ('E', 'S', 'b', 'D', 'C'))
z = np.zeros((x.shape[0], cfg['units']))
for _ in range(cfg['T']):
    z = np.maximum(0, x @ E.T + z @ S.T - b)
logits = (z / np.sqrt(cfg['norm_eps'] + (z*z).sum(1, keepdims=True))) @ C.T
err = (logits.argmax(1) != y).sum()
print(f"{path}: {err} errors of {len(y)} = {100*err/len(y):.2f}%; L0 {(z > 0).sum(1).mean():.1f}")
# The paper's two populations, from the parameters alone: the angle between E's row and D's column
# per unit, part-units below 0.5 rad, categorical units above 0.7, and their share of Σ‖Cᵢ‖².
cos = (E * D.T).sum(1) / (np.linalg.norm(E, axis=1) * np.linalg.norm(D, axis=0))
ang = np.arccos(np.clip(cos, -1, 1)); c2 = (C * C).sum(0)
part, cat = ang < 0.5, ang > 0.7
print(f"units: {part.sum()} part-units, {cat.sum()} categorical, {(~part & ~cat).sum()} between; "
      f"share of Σ‖Cᵢ‖²: part {100*c2[part].sum()/c2.sum():.1f}%, categorical {100*c2[cat].sum()/c2.sum():.1f}%")
