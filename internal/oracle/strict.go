package oracle

import "testing"

// The strict checks are now what E2fsck, SgdiskVerify and QemuImgCompare
// do; these names remain for the tests written against them.

// E2fsckStrictErr is E2fsckErr.
func E2fsckStrictErr(t testing.TB, img string, off int64) error {
	t.Helper()
	return E2fsckErr(t, img, off)
}

// E2fsckStrict is E2fsck.
func E2fsckStrict(t testing.TB, img string, off int64) {
	t.Helper()
	E2fsck(t, img, off)
}

// SgdiskVerifyStrictErr is SgdiskVerifyErr.
func SgdiskVerifyStrictErr(t testing.TB, img string) error {
	t.Helper()
	return SgdiskVerifyErr(t, img)
}

// SgdiskVerifyStrict is SgdiskVerify.
func SgdiskVerifyStrict(t testing.TB, img string) {
	t.Helper()
	SgdiskVerify(t, img)
}

// QemuImgCompareDataErr is QemuImgCompareErr.
func QemuImgCompareDataErr(t testing.TB, a, b string) error {
	t.Helper()
	return QemuImgCompareErr(t, a, b)
}

// QemuImgCompareData is QemuImgCompare.
func QemuImgCompareData(t testing.TB, a, b string) {
	t.Helper()
	QemuImgCompare(t, a, b)
}
