//go:build cgo && linux

package gpu

/*
#cgo pkg-config: egl
#include <stdlib.h>
#include <string.h>
#include <EGL/egl.h>
#include <EGL/eglext.h>

#ifndef EGL_PLATFORM_SURFACELESS_MESA
#define EGL_PLATFORM_SURFACELESS_MESA 0x31DD
#endif

static PFNEGLQUERYDEVICESEXTPROC drsae_queryDevices;
static PFNEGLQUERYDEVICESTRINGEXTPROC drsae_queryDeviceString;
static PFNEGLGETPLATFORMDISPLAYEXTPROC drsae_getPlatformDisplay;

static void drsae_egl_load(void) {
	drsae_queryDevices = (PFNEGLQUERYDEVICESEXTPROC)eglGetProcAddress("eglQueryDevicesEXT");
	drsae_queryDeviceString = (PFNEGLQUERYDEVICESTRINGEXTPROC)eglGetProcAddress("eglQueryDeviceStringEXT");
	drsae_getPlatformDisplay = (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
}

static const char *drsae_client_extensions(void) {
	return eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
}

// drsae_devices fills devs with up to max devices and returns how many, or -1.
static int drsae_devices(EGLDeviceEXT *devs, int max) {
	EGLint n = 0;
	if (!drsae_queryDevices || !drsae_queryDevices(max, devs, &n)) {
		return -1;
	}
	return n;
}

static const char *drsae_device_string(EGLDeviceEXT dev, EGLint name) {
	if (!drsae_queryDeviceString) {
		return NULL;
	}
	const char *s = drsae_queryDeviceString(dev, name);
	eglGetError(); // a device without the DRM extension answers EGL_BAD_PARAMETER; not an error here
	return s;
}

static EGLDisplay drsae_device_display(EGLDeviceEXT dev) {
	if (!drsae_getPlatformDisplay) {
		return EGL_NO_DISPLAY;
	}
	return drsae_getPlatformDisplay(EGL_PLATFORM_DEVICE_EXT, dev, NULL);
}

static EGLDisplay drsae_surfaceless_display(void) {
	if (!drsae_getPlatformDisplay) {
		return EGL_NO_DISPLAY;
	}
	return drsae_getPlatformDisplay(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL);
}

static EGLDisplay drsae_default_display(void) {
	return eglGetDisplay(EGL_DEFAULT_DISPLAY);
}

// drsae_make_context initializes dpy and makes an OpenGL 4.3 core context current on this thread
// with no surface. It returns 0, or the failing step (1 initialize, 2 bind API, 3 choose config,
// 4 create context, 5 make current) with the EGL error in *err.
static int drsae_make_context(EGLDisplay dpy, EGLContext *out, EGLint *err) {
	EGLint major, minor;
	if (!eglInitialize(dpy, &major, &minor)) {
		*err = eglGetError();
		return 1;
	}
	if (!eglBindAPI(EGL_OPENGL_API)) {
		*err = eglGetError();
		return 2;
	}
	EGLConfig cfg = EGL_NO_CONFIG_KHR;
	const char *ext = eglQueryString(dpy, EGL_EXTENSIONS);
	if (ext == NULL || strstr(ext, "EGL_KHR_no_config_context") == NULL) {
		EGLint cattrs[] = {EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_NONE};
		EGLint n = 0;
		if (!eglChooseConfig(dpy, cattrs, &cfg, 1, &n) || n < 1) {
			*err = eglGetError();
			return 3;
		}
	}
	EGLint attrs[] = {
		EGL_CONTEXT_MAJOR_VERSION, 4,
		EGL_CONTEXT_MINOR_VERSION, 3,
		EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
		EGL_NONE,
	};
	EGLContext ctx = eglCreateContext(dpy, cfg, EGL_NO_CONTEXT, attrs);
	if (ctx == EGL_NO_CONTEXT) {
		*err = eglGetError();
		return 4;
	}
	if (!eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx)) {
		*err = eglGetError();
		eglDestroyContext(dpy, ctx);
		return 5;
	}
	*out = ctx;
	return 0;
}

static void drsae_destroy_context(EGLDisplay dpy, EGLContext ctx) {
	eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	eglDestroyContext(dpy, ctx);
	eglReleaseThread();
}

static void *drsae_proc_address(const char *name) {
	return (void *)eglGetProcAddress(name);
}
*/
import "C"

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

func init() {
	RegisterContext("egl", newEGLContext)
}

// eglDisplays counts the contexts on each initialized display, so that closing one backend
// does not terminate a display another backend still uses.
var (
	eglMu       sync.Mutex
	eglDisplays = map[C.EGLDisplay]int{}
	eglLoaded   bool
)

type eglContext struct {
	dpy  C.EGLDisplay
	ctx  C.EGLContext
	desc string
}

func (c *eglContext) ProcAddr(name string) unsafe.Pointer {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.drsae_proc_address(cs)
}

func (c *eglContext) Describe() string { return c.desc }

func (c *eglContext) Destroy() {
	C.drsae_destroy_context(c.dpy, c.ctx)
	eglMu.Lock()
	defer eglMu.Unlock()
	eglDisplays[c.dpy]--
	if eglDisplays[c.dpy] <= 0 {
		delete(eglDisplays, c.dpy)
		C.eglTerminate(c.dpy)
	}
}

// eglCandidate is one way to get a display, tried in order until one gives a context.
type eglCandidate struct {
	name string
	dpy  func() C.EGLDisplay
}

// newEGLContext makes a headless OpenGL 4.3 core context current on the calling thread. It tries,
// in order: hardware devices of the EGL device platform (how NVIDIA servers work; also Mesa's
// DRM devices), Mesa's surfaceless platform (a GPU through its render node, else llvmpipe), the
// software devices of the device platform (llvmpipe), and finally the default display.
// DRSAE_EGL_DEVICE=i uses only device i of the device platform.
func newEGLContext() (Context, error) {
	eglMu.Lock()
	if !eglLoaded {
		C.drsae_egl_load()
		eglLoaded = true
	}
	eglMu.Unlock()

	clientExt := ""
	if s := C.drsae_client_extensions(); s != nil {
		clientExt = C.GoString(s)
	}
	has := func(ext string) bool { return strings.Contains(" "+clientExt+" ", " "+ext+" ") }

	var hardware, software []eglCandidate
	var notes []string
	if has("EGL_EXT_device_enumeration") || has("EGL_EXT_device_base") {
		var devs [16]C.EGLDeviceEXT
		n := int(C.drsae_devices(&devs[0], C.int(len(devs))))
		if n < 0 {
			notes = append(notes, "device platform: eglQueryDevicesEXT failed")
		} else if n == 0 {
			notes = append(notes, "device platform: no devices")
		}
		for i := 0; i < n; i++ {
			dev := devs[i]
			ext := ""
			if s := C.drsae_device_string(dev, C.EGL_EXTENSIONS); s != nil {
				ext = C.GoString(s)
			}
			label := fmt.Sprintf("EGL device %d of %d", i, n)
			if s := C.drsae_device_string(dev, C.EGL_DRM_DEVICE_FILE_EXT); s != nil {
				label += " (" + C.GoString(s) + ")"
			}
			soft := strings.Contains(ext, "EGL_MESA_device_software")
			if soft {
				label += " (software)"
			}
			c := eglCandidate{name: label, dpy: func() C.EGLDisplay { return C.drsae_device_display(dev) }}
			if env := os.Getenv("DRSAE_EGL_DEVICE"); env != "" {
				if want, err := strconv.Atoi(env); err == nil && want == i {
					hardware = []eglCandidate{c}
				}
				continue
			}
			if soft {
				software = append(software, c)
			} else {
				hardware = append(hardware, c)
			}
		}
		if env := os.Getenv("DRSAE_EGL_DEVICE"); env != "" {
			if len(hardware) == 0 {
				return nil, fmt.Errorf("gpu: DRSAE_EGL_DEVICE=%s, but the EGL device platform lists %d devices (0 to %d)", env, max(n, 0), n-1)
			}
			return tryEGL(hardware, notes)
		}
	} else {
		notes = append(notes, "device platform: not offered by libEGL (no EGL_EXT_device_enumeration)")
	}
	candidates := hardware
	if has("EGL_MESA_platform_surfaceless") {
		candidates = append(candidates, eglCandidate{name: "EGL Mesa surfaceless platform", dpy: func() C.EGLDisplay { return C.drsae_surfaceless_display() }})
	} else {
		notes = append(notes, "surfaceless platform: not offered by libEGL (no EGL_MESA_platform_surfaceless)")
	}
	candidates = append(candidates, software...)
	candidates = append(candidates, eglCandidate{name: "EGL default display", dpy: func() C.EGLDisplay { return C.drsae_default_display() }})
	return tryEGL(candidates, notes)
}

func tryEGL(candidates []eglCandidate, notes []string) (Context, error) {
	steps := [...]string{1: "eglInitialize", 2: "eglBindAPI(EGL_OPENGL_API)", 3: "eglChooseConfig",
		4: "eglCreateContext(OpenGL 4.3 core)", 5: "eglMakeCurrent(no surface)"}
	for _, c := range candidates {
		dpy := c.dpy()
		if dpy == 0 {
			notes = append(notes, c.name+": no display")
			continue
		}
		var ctx C.EGLContext
		var code C.EGLint
		eglMu.Lock()
		step := int(C.drsae_make_context(dpy, &ctx, &code))
		if step == 0 {
			eglDisplays[dpy]++
		} else if eglDisplays[dpy] == 0 {
			C.eglTerminate(dpy)
		}
		eglMu.Unlock()
		if step == 0 {
			return &eglContext{dpy: dpy, ctx: ctx, desc: c.name}, nil
		}
		notes = append(notes, fmt.Sprintf("%s: %s failed: %s", c.name, steps[step], eglErrorName(code)))
	}
	return nil, fmt.Errorf("gpu: no headless OpenGL 4.3 context through EGL (%s). "+
		"For software rendering (llvmpipe) or Intel/AMD GPUs install Mesa: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri; "+
		"for NVIDIA GPUs the driver's EGL library must be registered with glvnd (10_nvidia.json under /usr/share/glvnd/egl_vendor.d, "+
		"or __EGL_VENDOR_LIBRARY_FILENAMES pointing at it); on a desktop, DRSAE_GL=glfw uses the X display instead",
		strings.Join(notes, "; "))
}

func eglErrorName(code C.EGLint) string {
	names := map[C.EGLint]string{
		C.EGL_SUCCESS: "EGL_SUCCESS", C.EGL_NOT_INITIALIZED: "EGL_NOT_INITIALIZED", C.EGL_BAD_ACCESS: "EGL_BAD_ACCESS",
		C.EGL_BAD_ALLOC: "EGL_BAD_ALLOC", C.EGL_BAD_ATTRIBUTE: "EGL_BAD_ATTRIBUTE", C.EGL_BAD_CONFIG: "EGL_BAD_CONFIG",
		C.EGL_BAD_CONTEXT: "EGL_BAD_CONTEXT", C.EGL_BAD_DISPLAY: "EGL_BAD_DISPLAY", C.EGL_BAD_MATCH: "EGL_BAD_MATCH",
		C.EGL_BAD_PARAMETER: "EGL_BAD_PARAMETER", C.EGL_BAD_SURFACE: "EGL_BAD_SURFACE",
	}
	if s, ok := names[code]; ok {
		return s
	}
	return fmt.Sprintf("EGL error 0x%x", int(code))
}
