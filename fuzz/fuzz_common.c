/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "hosttree.h"

/* gpu-server (examples/hosts/gpu-server.host): legacy and iommufd nodes, two groups of two functions. */
static const char host_manifest[] =
	"misc vfio 10:196\n"
	"misc iommu 10:257\n"
	"group 30\n"
	"device 0000:40:01.1 group=30 vendor=1022 device=1483 class=060400 header=1 driver=pcieport\n"
	"group 31 241:0\n"
	"device 0000:41:00.0 group=31 vendor=10de device=2204 class=030000 driver=vfio-pci cdev=vfio0:237:0 "
	"parent=0000:40:01.1\n"
	"device 0000:41:00.1 group=31 vendor=10de device=1aef class=040300 driver=vfio-pci cdev=vfio1:237:1 "
	"parent=0000:40:01.1\n"
	"group 40\n"
	"device 0000:c1:00.0 group=40 vendor=10de device=2204 class=030000 driver=nvidia\n";

static char temp_dir[4096];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (remove(path) < 0)
		fprintf(stderr, "fuzz: cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

static void remove_temp_dir(void)
{
	/* Depth first, never following a link out of the directory. */
	if (temp_dir[0])
		nftw(temp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_temp_dir(void)
{
	if (temp_dir[0])
		return temp_dir;
	const char *tmp = getenv("TMPDIR");
	snprintf(temp_dir, sizeof(temp_dir), "%s/vfguard-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(temp_dir)) {
		fprintf(stderr, "fuzz: cannot make %s: %s\n", temp_dir, strerror(errno));
		abort();
	}
	atexit(remove_temp_dir);
	return temp_dir;
}

void fuzz_temp_path(const char *name, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", fuzz_temp_dir(), name);
	if (n < 0 || (size_t)n >= size)
		abort();
}

void fuzz_make_dir(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "fuzz: cannot make %s: %s\n", path, strerror(errno));
		abort();
	}
}

void fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) < 0) {
		fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
		abort();
	}
}

char *fuzz_string(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

const char *fuzz_host_root(void)
{
	static char root[4096];
	if (root[0])
		return root;
	char errbuf[512];
	fuzz_temp_path("host", root, sizeof(root));
	if (hosttree_build_string(host_manifest, root, errbuf, sizeof(errbuf)) < 0) {
		fprintf(stderr, "fuzz: cannot build the host tree: %s\n", errbuf);
		abort();
	}
	return root;
}

vfg_context *fuzz_context(const char *root, const char *config_file, const char *const *overrides, vfg_error *err)
{
	char plugin_dir[4096];
	fuzz_temp_path("no-plugins", plugin_dir, sizeof(plugin_dir));
	fuzz_make_dir(plugin_dir);
	const char *all[20] = {"labelers="};
	size_t n = 1;
	for (size_t i = 0; overrides && overrides[i] && n < sizeof(all) / sizeof(all[0]) - 1; i++)
		all[n++] = overrides[i];
	vfg_context_options options = {
		.root = root, .config_file = config_file, .plugin_dir = plugin_dir, .overrides = all};
	return vfg_context_new(&options, err);
}

vfg_context *fuzz_context_or_abort(const char *root)
{
	vfg_error err = {0};
	vfg_context *ctx = fuzz_context(root, NULL, NULL, &err);
	if (!ctx) {
		fprintf(stderr, "fuzz: cannot make a context at %s: %s\n", root, err.message);
		abort();
	}
	return ctx;
}
