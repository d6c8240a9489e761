//go:build !unix

package dataset_test

func specialFiles() []struct {
	name string
	make func(path string) error
	want error
} {
	return nil
}
