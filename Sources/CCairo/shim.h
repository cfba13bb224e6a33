// cairo (Debian libcairo2-dev): 2D drawing with anti-aliased lines and text, written out as PNG.
#include <cairo/cairo.h>
