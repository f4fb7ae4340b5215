package weightfile

import "fmt"

// The formats a weights file can be written in, as named in the service
// config ("weights.format").
const (
	FormatYAML      = "yaml"      // ReadYAML, SetYAML, RemoveYAML
	FormatTerraform = "terraform" // ReadHCL, SetHCL, RemoveHCL
)

// Read returns the sources in a weights file written in format: "yaml" or
// "terraform". See ReadYAML and ReadHCL.
func Read(format string, content []byte) ([]Source, error) {
	switch format {
	case FormatYAML:
		return ReadYAML(content)
	case FormatTerraform:
		return ReadHCL(content)
	}
	return nil, unknownFormat(format)
}

// Set returns content, a weights file written in format, with the weight of
// each named source set to its value in weights. See SetYAML and SetHCL.
func Set(format string, content []byte, weights map[string]int64) ([]byte, error) {
	switch format {
	case FormatYAML:
		return SetYAML(content, weights)
	case FormatTerraform:
		return SetHCL(content, weights)
	}
	return nil, unknownFormat(format)
}

// Remove returns content, a weights file written in format, without the
// named source. See RemoveYAML and RemoveHCL.
func Remove(format string, content []byte, name string) ([]byte, error) {
	switch format {
	case FormatYAML:
		return RemoveYAML(content, name)
	case FormatTerraform:
		return RemoveHCL(content, name)
	}
	return nil, unknownFormat(format)
}

func unknownFormat(format string) error {
	return fmt.Errorf("unknown weights file format %q (want %q or %q)", format, FormatYAML, FormatTerraform)
}
