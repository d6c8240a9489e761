package dataset

// FileIdentity lets the external benchmarks record rows as extraction does.
var FileIdentity = fileIdentity
