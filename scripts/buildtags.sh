# Sourced by the scripts that build the gowsgi command: sets gowsgi_tags to
# "-tags pystatic" when Debian's static libpython3.11 is installed and no
# other Python was chosen through PKG_CONFIG_PATH. The static library runs
# Python 8% fewer instructions a request than libpython3.11.so (see
# interp/cflags_static.go).
gowsgi_tags=()
if [[ -z "${PKG_CONFIG_PATH:-}" && -e "/usr/lib/$(gcc -print-multiarch 2>/dev/null)/libpython3.11.a" ]] &&
	[[ "$(pkg-config --modversion python3-embed 2>/dev/null)" == 3.11* ]]; then
	gowsgi_tags=(-tags pystatic)
fi
