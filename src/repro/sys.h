/* SPDX-License-Identifier: GPL-2.0 */
/* tcpabort-repro: the system around a scenario (sys.c). */
#ifndef TCPABORT_REPRO_SYS_H
#define TCPABORT_REPRO_SYS_H

#include <sys/types.h>

#include "repro.h"

/* Private network namespace, lo up; checks that nft exists.  0 or -1. */
int repro_netns_enter(void);
/* A per-namespace net.ipv4 sysctl, in our own namespace: nothing to undo. */
int repro_sysctl_set(const char *name, int val);
/* The same for a sysctl older kernels lack: absent is fine, and said. */
int repro_sysctl_set_opt(const char *name, int val);

/* nftables rules, fed to `nft -f -`, in table ip tcpabort_repro. */
int repro_nft(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* verdict on every packet from the client socket to the server, on input */
int repro_nft_drop_flow(const struct repro *r, const char *verdict);
/* verdict on every SYN to the server address, on input */
int repro_nft_syn(const struct repro *r, const char *verdict);

/* The kernel's TCP counters of this namespace, before and after. */
void repro_mib_snapshot(void);
void repro_mib_report(void);

/*
 * A global net.ipv4 sysctl, changed only briefly: open saves the value,
 * arm starts a guardian process that restores it if we die while it is
 * lowered, disarm stops the guardian, close restores and closes.
 */
struct repro_gsysctl {
	const char *name;
	int fd;
	int saved;
	int lowered;
	pid_t guard;
	int ctl; /* our end of the line to the guardian */
};

int repro_gsysctl_open(struct repro_gsysctl *g, const char *name);
int repro_gsysctl_arm(struct repro_gsysctl *g, int lowered);
int repro_gsysctl_write(struct repro_gsysctl *g, int val);
void repro_gsysctl_disarm(struct repro_gsysctl *g);
int repro_gsysctl_close(struct repro_gsysctl *g);

#endif /* TCPABORT_REPRO_SYS_H */
