package initrd

// Exported for the external tests that need downloaded assets.
var (
	WriteSample = writeSample
	ModInfoDeps = modInfoDeps
	NormModName = normModName
)
