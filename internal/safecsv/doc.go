// Package safecsv writes CSV that spreadsheets open as data: every cell
// that a spreadsheet would evaluate as a formula is quoted away, after
// OWASP's rule for CSV injection. Every CSV file and stream the project
// writes goes through it, since paths, class names and command lines come
// from users' files and from other people's folders.
package safecsv
