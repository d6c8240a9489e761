// Package dataset turns image files into cached embeddings.
//
// The data path is one straight line, one function per arrow:
//
//	file bytes ──Decode──▶ image (its own colour model, EXIF-oriented)
//	          ──Resizer.Resize──▶ *image.NRGBA, W×H, opaque 8-bit RGB
//	          ──backbone.Filler.Fill──▶ float32 tensor in the model's layout
//	          ──Embedder (backbone.Backbone.Run)──▶ float32 embedding of D values
//	          ──Cache.Put──▶ one cache row
//
// Extract runs that line over a Set with a pool of decoding workers feeding
// batched inference, and skips every image whose embedding the Cache already
// holds.
//
// # Sets
//
// A Set is an ordered list of image files, with class labels when it is
// labelled. FromFolders reads one subfolder per class (Keras'
// image_dataset_from_directory convention), FromRegex takes the class from
// each file name, FromManifest reads a CSV of path,label rows, and
// Unlabelled lists files for prediction. Items are sorted by path and class
// indices are stable: sorted class names, or the order a class mapping gives.
//
// # Cache
//
// The Cache is one SQLite file. An embedding is keyed by the backbone's
// fingerprint, the SHA-256 of the image file's bytes and the resize
// specification, so a renamed or moved image is still a hit while another
// model, preprocessing or resize gets its own entry. Every batch is written
// in one transaction (WAL journal), so a killed run loses at most the batch
// in flight, and several processes can share one file.
package dataset
