package model

// For the tests of package model_test.
var (
	DecodeSaved = decodeSaved
	ConfigJSON  = configJSON
)
