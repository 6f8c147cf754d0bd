/* SPDX-License-Identifier: GPL-2.0 */
/* tcpabort-repro: the scenario functions that repro_scenarios[] names. */
#ifndef TCPABORT_REPRO_SCENARIOS_H
#define TCPABORT_REPRO_SCENARIOS_H

#include "repro.h"

/* scenarios.c: the peer resets us */
int fin_then_rst(struct repro *r);
int peer_crash(struct repro *r);
int send_before_recv(struct repro *r);
int accept_queue_reset(struct repro *r);
int owner_killed(struct repro *r);
int no_reply(struct repro *r);

/* scen_connect.c: the connection never comes up */
int refused(struct repro *r);
int connect_again(struct repro *r);
int syn_timeout(struct repro *r);
int icmp_unreachable(struct repro *r);
int disconnect(struct repro *r);
int shutdown_connecting(struct repro *r);
int connect_abandoned(struct repro *r);

/* scen_reset.c: our own kernel sends the RST */
int close_unread(struct repro *r);
int linger_zero(struct repro *r);
int data_after_close(struct repro *r);
int linger2(struct repro *r);
int memory_abort(struct repro *r);

/* scen_timeout.c: the peer goes silent */
int retransmit_timeout(struct repro *r);
int keepalive_timeout(struct repro *r);
int user_timeout(struct repro *r);

/* scen_local.c: something on this host ends it */
int local_abort(struct repro *r);
int write_after_shutdown(struct repro *r);

#endif /* TCPABORT_REPRO_SCENARIOS_H */
