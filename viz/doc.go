// Package viz draws models as pictures: grids of filters (encoder rows, decoder columns) as
// image tiles, heat maps of matrices, histograms, and topographic maps, returned as
// image.Image values and saved with SavePNG.
//
// Conventions:
//
//   - Data are row-major float32 slices, as everywhere in drsae; a function's comment gives the
//     shape it reads. A tile of h×w pixels is h·w consecutive values, row by row.
//   - Contrast is per tile (or per picture for a heat map) and symmetric about zero: mid-gray is
//     0, white the largest positive value, black the largest negative one in magnitude, so that
//     filters of different norms compare by shape and the sign of a weight is always visible.
//   - Misuse (a slice whose length does not match the shape given) panics with a "viz:" message;
//     failures of the world (a file that cannot be written) return errors.
//   - SavePNG writes atomically: a temporary file in the same folder, renamed over the target.
package viz
