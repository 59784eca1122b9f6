/*
 * smtp_server.h - the SMTP listener: libuv glue around the pure session
 * (smtp_session.h), the data decoder (smtp_data.h) and the spool.
 *
 * smtp_server_start() binds every `listen` address (before privileges are
 * dropped) and accepts connections on the loop; smtp_server_stop() stops
 * accepting, tells idle clients 421 and closes them, lets messages whose
 * commit is under way finish, and calls done when the last connection has
 * gone. Disk work (create, write, fdatasync, rename) runs in libuv's
 * thread pool; the queue directory is fsync'd once for every group of
 * messages renamed before the sync started (group commit), and only then
 * is 250 sent.
 *
 * The server holds the config it was started with (config_hold) and takes
 * the new one on smtp_server_reload(); sessions keep the one they began
 * with. The caller owns the spool and must keep it open until done runs.
 */
#ifndef TERN_SMTP_SERVER_H
#define TERN_SMTP_SERVER_H

#include <uv.h>

#include "core/kconfig.h"

struct config;
struct spool;
struct smtp_server;

/* called for each message committed, on the loop thread */
typedef void (*smtp_server_msg_cb)(void *arg, const char *id);

#ifdef CONFIG_SMTP_SERVER
int smtp_server_start(uv_loop_t *loop, struct config *cfg, struct spool *sp,
    smtp_server_msg_cb on_msg, void *arg, struct smtp_server **out,
    char *err, size_t errlen);
void smtp_server_reload(struct smtp_server *srv, struct config *cfg);
void smtp_server_stop(struct smtp_server *srv, void (*done)(void *arg),
    void *arg);
/* smtp_server_sessions - connections open now */
unsigned smtp_server_sessions(const struct smtp_server *srv);
#else
static inline int smtp_server_start(uv_loop_t *loop, struct config *cfg,
    struct spool *sp, smtp_server_msg_cb on_msg, void *arg,
    struct smtp_server **out, char *err, size_t errlen)
{
	(void)loop; (void)cfg; (void)sp; (void)on_msg; (void)arg; (void)err;
	(void)errlen;
	*out = NULL;
	return 0;
}
static inline void smtp_server_reload(struct smtp_server *srv, struct config *cfg)
{ (void)srv; (void)cfg; }
static inline void smtp_server_stop(struct smtp_server *srv,
    void (*done)(void *arg), void *arg)
{ (void)srv; done(arg); }
static inline unsigned smtp_server_sessions(const struct smtp_server *srv)
{ (void)srv; return 0; }
#endif

#endif
