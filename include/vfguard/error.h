/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_ERROR_H
#define VFGUARD_ERROR_H

/*
 * The one error type of vfguard. A failing function fills it where the
 * failure happens (with the errno and the path or device concerned) and
 * returns -1; its callers only return -1 in turn, so the message reaches the
 * front end intact and is printed once.
 */

#ifdef __cplusplus
extern "C" {
#endif

#define VFG_ERROR_SUBJECT_MAX 1024
#define VFG_ERROR_MESSAGE_MAX 2048

typedef struct vfg_error {
	int errnum; /* the failed system call's errno, a refusal's class (vfg_error_refuse), else 0 */
	char subject[VFG_ERROR_SUBJECT_MAX]; /* path, device or option concerned; may be "" */
	char message[VFG_ERROR_MESSAGE_MAX]; /* whole sentence for people, subject and errno text included */
} vfg_error;

/*
 * Fill @err: message is "SUBJECT: TEXT" plus ": strerror(errnum)" when errnum
 * is not 0. Returns -1 so that a failure reads `return vfg_error_set(...)`.
 * @err may be NULL (the error is then dropped).
 */
int vfg_error_set(vfg_error *err, int errnum, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * The same for a refusal vfguard decides, no system call having failed:
 * @errnum classes it for callers and JSON (EBUSY another holds it, EBADMSG
 * a damaged or tampered state, ESTALE an earlier boot's state, ENOPKG a
 * grant of a labeler that is not loaded, which no retry can undo), and its
 * strerror() is not appended, since the sentence says why. (VFGUARD_0.7.)
 */
int vfg_error_refuse(vfg_error *err, int errnum, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Put "TEXT: " in front of the message, for context a caller adds (the hostdev, the step). */
void vfg_error_prefix(vfg_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void vfg_error_clear(vfg_error *err);

#ifdef __cplusplus
}
#endif
#endif
