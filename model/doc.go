// Package model holds drsae's models: sparse inference by ISTA and FISTA (SparseCoder),
// dictionary learning (Dictionary), the learned encoder LISTA, the discriminative recurrent
// sparse auto-encoder (DrSAE) and the group-sparse models, with their trainers, metrics and
// file format.
//
// # Problem and notation
//
// Sparse coding finds, for a sample x ∈ ℝⁿ and a dictionary D [n, m] (a column per atom),
//
//	z* = argmin_z ½‖x − D z‖² + λ‖z‖₁        (optionally with z ≥ 0)
//
// ISTA and FISTA (Beck & Teboulle 2009) solve it with steps 1/L, L = λ_max(DᵀD) from
// PowerIteration. Dictionary learning alternates that inference on minibatches with a projected
// gradient step on D. LISTA (Gregor & LeCun 2010) unrolls T shrinkage steps
// z_{t+1} = h_θ(W_e x + S z_t) and learns W_e [m, n], S [m, m] and θ [m] to regress z*.
//
// # Layout, memory and devices
//
// Batches are row-major: X [B, n], codes Z [B, m], as everywhere in drsae. All heavy work runs
// through a kernels.Backend, so every model runs on the CPU and on the GPU; the host sees only
// small reductions (objective terms, norms: O(B + m) floats per batch) and, for training, the
// minibatches it uploads. Models allocate their workspaces once per batch size and reuse them;
// tensors a caller passes in stay the caller's. Each model has a Free method for its device
// memory.
//
// # Errors
//
// As in package kernels: shapes that do not fit panic with a "model:" or "kernels:" message (a
// programming error); bad hyper-parameters, device failures and bad files are returned as
// errors that name the parameter or the file.
//
// # Files
//
// A saved model is two files side by side: NAME.safetensors with its tensors in float32
// (readable with Python's safetensors package: safetensors.numpy.load_file) and NAME.json, its
// config, whose "model" key names the kind ("dict", "lista", "drsae", …) and whose other keys
// give the hyper-parameters and shapes. Tensor names follow the papers' symbols: a dictionary is
// "D" [n, m]; a LISTA encoder is "We" [m, n], "S" [m, m], "theta" [m] plus its dictionary "D".
// SaveTensors writes atomically (temporary file, fsync, rename); LoadTensors checks the whole
// file and the loaders check every shape against the config.
//
// # Progress
//
// Trainers take a ProgressFunc, called after every minibatch and at the end of every epoch
// with the metrics so far (see Progress); the command line renders it as a bar or as lines.
package model
