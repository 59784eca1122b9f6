/*
 * deliver.h - the delivery engine: takes queued messages, routes their
 * recipients (router.h), talks SMTP to the chosen hosts (smtp_client.h)
 * on the libuv loop, records each recipient's outcome in the message's
 * state file, bounces failures (bounce.h) and removes finished messages.
 *
 * One engine per process: `tern serve` runs one for its whole life
 * (deliver_message for new arrivals, deliver_queue_run on its timer and
 * on SIGUSR1); `tern queue run` runs one until it is idle.
 *
 * deliver_new returns an engine freed by deliver_stop's done callback (or
 * deliver_free when nothing was started). The engine holds its config
 * (config_hold) and borrows the spool, which must outlive it.
 */
#ifndef TERN_DELIVER_H
#define TERN_DELIVER_H

#include <uv.h>

struct config;
struct spool;
struct deliver;

int deliver_new(uv_loop_t *loop, struct config *cfg, struct spool *sp,
    struct deliver **out);
void deliver_reload(struct deliver *d, struct config *cfg);
/* deliver_message - try this message now (a new arrival) */
void deliver_message(struct deliver *d, const char *id);
/* deliver_queue_run - every queued message whose retry time has come, or
 * (force) every queued message */
void deliver_queue_run(struct deliver *d, int force);
/* deliver_on_idle - cb runs whenever nothing is in flight or waiting */
void deliver_on_idle(struct deliver *d, void (*cb)(void *), void *arg);
/* deliver_stop - no new attempts; running ones finish; then done(arg) */
void deliver_stop(struct deliver *d, void (*done)(void *), void *arg);
/* deliver_busy - attempts in flight or waiting */
unsigned deliver_busy(const struct deliver *d);

#endif
