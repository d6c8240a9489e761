// Package dataset turns image files into cached embeddings.
//
// The data path is one straight line, one function per arrow:
//
//	file ──ReadFile──▶ bytes (a regular file under the size limit)
//	     ──Prepare (Decode, then Resizer.Resize)──▶ *image.NRGBA, W×H, opaque 8-bit RGB
//	     ──backbone.Filler.Fill──▶ float32 tensor in the model's layout
//	     ──Embedder (backbone.Backbone.Run)──▶ float32 embedding of D values
//	     ──Cache.Put──▶ one cache row
//
// Extract runs that line over a Set with a pool of decoding workers feeding
// batched inference, and skips every image whose embedding the Cache already
// holds. Prepare is the part that every user of image files shares (the
// exported classifier's predictions too): it reserves the image's decoding
// memory from a MemoryBudget, refuses what its header shows to be hostile,
// and turns a panic into that image's error.
//
// # Sets
//
// A Set is an ordered list of image files, with class labels when it is
// labelled. FromFolders reads one subfolder per class (Keras'
// image_dataset_from_directory convention), FromRegex takes the class from
// each file name, FromManifest reads a CSV of path,label rows, and FromPaths
// lists files (or folders of them) for prediction. Items are sorted by path
// and class indices are stable: sorted class names, or the order a class
// mapping gives. Files found but not used are listed in Set.Skipped with the
// reason.
//
// # Cache
//
// The Cache is one SQLite file. An embedding is keyed by the backbone's
// fingerprint, the SHA-256 of the image file's bytes and the PixelSpec, so a
// renamed or moved image is still a hit while another model, preprocessing,
// resize or JPEG decoder gets its own entry. To know a file's SHA-256
// without reading it, the cache keeps per path its size, modification time,
// inode and change time, and trusts the recorded digest while all four are
// unchanged (ExtractOptions.Rehash reads every file). Every batch is written
// in one transaction (WAL journal), so a killed run loses at most the batch
// in flight, and several processes can share one file.
package dataset
