// Package glsl holds the OpenGL 4.3 compute shaders of package gpu, one *.comp file per op,
// embedded into the binary.
//
// Every shader starts with "#version 430" on its first line. Package gpu assembles a program's
// source as: that line, then the #define lines of the variant (LOCAL_SIZE, tile sizes, flags),
// then Header, then the rest of the file under "#line 2 0", so that compiler messages name
// lines of the .comp file (source 0) or of header.glsl (source 1).
//
// Conventions every shader follows (see header.glsl):
//   - storage buffers are std430 at explicit bindings; float tensors as float[], pool layouts as
//     int[]; no vec3 (it aligns to 16 bytes in std430);
//   - uniforms have explicit locations, numbered from 0 in the order the Go side sets them;
//   - indices are checked against the sizes first; work beyond one dispatch's group-count limit is
//     covered by the grid-stride macros of the header.
package glsl

import (
	"embed"
	"strings"
)

//go:embed *.comp header.glsl
var files embed.FS

// Header is the text shared by every shader (header.glsl).
var Header = mustRead("header.glsl")

// Source returns the text of a shader file such as "fill.comp", and false if there is none.
func Source(name string) (string, bool) {
	b, err := files.ReadFile(name)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// Names lists the embedded shader files (*.comp), sorted.
func Names() []string {
	entries, _ := files.ReadDir(".")
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".comp") {
			names = append(names, e.Name())
		}
	}
	return names
}

func mustRead(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("glsl: " + err.Error())
	}
	return string(b)
}
