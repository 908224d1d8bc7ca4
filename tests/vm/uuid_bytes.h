/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A UUID's text ("8-4-4-4-12" hex digits) as the 16 bytes the kernel's VF
 * token takes (include/uapi/linux/vfio.h, VFIO_DEVICE_FEATURE_PCI_VF_TOKEN:
 * "a 16-byte array (__u8 b[16]), representing a UUID"), for the VM suite's
 * probes. Dashes are skipped; anything but 32 hex digits is refused.
 */
#ifndef VFG_VM_UUID_BYTES_H
#define VFG_VM_UUID_BYTES_H

static inline int uuid_bytes(const char *text, unsigned char uuid[16])
{
	int i = 0, nibble = 0;
	for (; *text; text++) {
		if (*text == '-')
			continue;
		int value = *text >= '0' && *text <= '9' ? *text - '0' : (*text | 0x20) - 'a' + 10;
		if (value < 0 || value > 15 || i >= 16)
			return -1;
		uuid[i] = (unsigned char)(nibble ? uuid[i] | value : value << 4);
		i += nibble;
		nibble = !nibble;
	}
	return i == 16 && !nibble ? 0 : -1;
}

#endif /* VFG_VM_UUID_BYTES_H */
