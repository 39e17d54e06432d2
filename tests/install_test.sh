#!/usr/bin/env bash
# The installed library as a user's build finds it: `cmake --install` into a
# scratch prefix, then a program built with find_package(swapobj) against the
# shared and against the static library, and one built with pkg-config; each
# formats a store, writes a page, reopens the store and reads the page back.
# Usage: install_test.sh BUILD_DIR
set -euo pipefail
build=$1
tmp=$(mktemp -d /tmp/swapobj-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(dirname "$(find "$tmp/prefix" -name 'libswapobj.so' | head -n 1)")
[ -f "$libdir/libswapobj.a" ] || { echo "install_test: no libswapobj.a next to $libdir/libswapobj.so" >&2; exit 1; }

mkdir "$tmp/app"
cat >"$tmp/app/app.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <swapobj.h>

int main(int argc, char **argv)
{
	const char *paths[1] = {argv[1]};
	struct swapobj_format_opts fo = SWAPOBJ_FORMAT_OPTS_INIT;
	swapobj_store *st = NULL;
	swapobj_obj *o = NULL;
	swapobj_key k;
	char page[4096], back[4096];
	(void)argc;
	fo.size = 32u << 20;
	fo.segment_size = 1u << 20;
	memset(page, 'p', sizeof(page));
	swapobj_key_anon(&k, 1, 2);
	if (swapobj_format(paths, 1, &fo) || swapobj_store_open(&st, paths, 1, NULL) ||
	    swapobj_obj_open(&o, st, &k, &(struct swapobj_obj_opts){SWAPOBJ_OBJ_OPTS_VERSION, SWAPOBJ_O_CREATE}) ||
	    swapobj_obj_write(o, page, sizeof(page), 0) != (int64_t)sizeof(page) || swapobj_obj_close(o) ||
	    swapobj_store_close(st) || swapobj_store_open(&st, paths, 1, NULL) ||
	    swapobj_obj_open(&o, st, &k, NULL) || swapobj_obj_read(o, back, sizeof(back), 0, 0) != (int64_t)sizeof(back) ||
	    memcmp(page, back, sizeof(page)) || swapobj_obj_close(o) || swapobj_store_close(st)) {
		fprintf(stderr, "app: %s\n", swapobj_errmsg());
		return 1;
	}
	return 0;
}
C
cat >"$tmp/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(swapobj_user C)
find_package(swapobj REQUIRED)
add_executable(app_shared app.c)
target_link_libraries(app_shared swapobj::swapobj)
add_executable(app_static app.c)
target_link_libraries(app_static swapobj::swapobj_static)
CM
cmake -S "$tmp/app" -B "$tmp/app/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/app/build" >/dev/null
LD_LIBRARY_PATH="$libdir" "$tmp/app/build/app_shared" "$tmp/s1.img"
"$tmp/app/build/app_static" "$tmp/s2.img"
if ldd "$tmp/app/build/app_static" | grep -q libswapobj; then
	echo "install_test: app_static links libswapobj.so" >&2
	exit 1
fi

export PKG_CONFIG_PATH="$libdir/pkgconfig"
[ "$(pkg-config --variable=libdir swapobj)" -ef "$libdir" ] || {
	echo "install_test: swapobj.pc names $(pkg-config --variable=libdir swapobj), not $libdir" >&2
	exit 1
}
# shellcheck disable=SC2046
cc -o "$tmp/app_pc" "$tmp/app/app.c" $(pkg-config --cflags --libs swapobj)
LD_LIBRARY_PATH="$libdir" "$tmp/app_pc" "$tmp/s3.img"
echo "install_test: shared, static and pkg-config builds of an installed libswapobj work"
