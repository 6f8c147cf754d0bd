/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TA_SELFTEST_H
#define TA_SELFTEST_H

#include <stdbool.h>

/* Runs every tcpabort-repro scenario under the tracer; returns an exit code. */
int selftest_main(bool keep);

#endif /* TA_SELFTEST_H */
