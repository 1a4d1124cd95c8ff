// Package model is drsae's model layer: the contract every model kind implements (Module), the
// one Trainer that trains them all, their files, and the sparse inference they share. The kinds
// live in packages of their own: model/dict (dictionary learning), model/lista (LISTA),
// model/drsae (the discriminative recurrent sparse auto-encoder), model/topo (group-sparse and
// topographic auto-encoders), model/conv (convolutional group-sparse auto-encoders, stacked,
// and the classifier on their features), model/lateral (sparse coding with lateral inhibition
// through a learned, tree-structured S) and model/local (locally connected auto-encoders on
// whole images, whose orientation maps are measured for pinwheels).
//
// # The pieces
//
//   - Module: a kind's computation — its named parameters (Param: tensor, learning-rate scale,
//     projection onto a constraint), Forward and Backward on a minibatch held in a Work it
//     allocates, and its loss terms read back as Sums ("loss", "recon", …). Optional interfaces
//     add what some kinds need: Stepper (after each step), Stateful (state that checkpoints keep),
//     Targeter (targets computed from the samples), DataFitter (scales measured on them),
//     Dropper (dropout: a mask per training step, drawn from the step's seed).
//   - Trainer: phases (DrSAE pre-trains without labels), SGD with momentum or Adam, learning-rate
//     decay restartable per phase, projections, validation with patience, a moving average of
//     the parameters, a deadline, a NaN stop, progress, and a checkpoint after every epoch.
//   - Files: SaveModel/LoadModel (NAME.safetensors with the parameters by name, NAME.json with
//     the config), SaveCheckpoint/LoadCheckpoint (one file, written atomically, that resumes bit
//     for bit). A config is a struct whose tags say each key's meaning and use (see Config); on
//     load, a missing optional key takes its default, and a missing required key, an unknown key
//     or a value out of range is one error naming the key and the file.
//   - Shared computations: ShrinkEncoder (the unrolled z ← h(E·x + S·z − θ) with its
//     backpropagation through time, used by LISTA and DrSAE), SparseCoder (ISTA, FISTA),
//     GroupSparse (the group lasso), PowerIteration, MeasureCodes.
//
// # Adding a model kind
//
// Write one package with a config struct (Config tag rules), a type implementing Module, and an
// init function that calls Register once with the kind's name, phases, default config, schedule
// and data. Import the package in cmd/drsae/kinds.go (one line) and add its reports and pictures
// there; the command line derives `drsae train KIND` and its flags, resume, eval, encode and
// show from the registration. model/topo is a compact example.
//
// # Layout, memory and devices
//
// Batches are row-major: X [B, n], codes Z [B, m]. All heavy work runs through a
// kernels.Backend, so every model runs on the CPU and on the GPU; the host sees only small
// reductions (loss terms, counts: O(1) floats per read-back) and the minibatches it uploads.
// Buffers are allocated once per batch size and kept in a Cache. A module whose batch may pass a
// device's largest storage block holds it in chunks (ChunkedWork), and one that bounds the
// batches of evaluation says so (BatchLimiter).
//
// # Errors
//
// As in package kernels: shapes that do not fit panic with a "model:" or "kernels:" message (a
// programming error); bad hyper-parameters, device failures and bad files are returned as errors
// that name the key or the file.
package model
