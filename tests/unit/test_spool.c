/*
 * test_spool.c - the spool: envelope format round trip and every prefix of
 * it, the state file fold (torn lines), queue IDs, locking across
 * processes, and crash points: a child process stops dead after each step
 * of the commit and the parent checks what recovery leaves.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/spool.h"

static char *tmpdir_make(void)
{
	char tmpl[] = "/tmp/tern-spool-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void tmpdir_remove(char *d)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	free(d);
}

static struct spool_env *sample_env(void)
{
	struct spool_env *env = spool_env_new();
	struct spool_rcpt *r;

	assert_non_null(env);
	env->arrival = 1764064800;
	assert_int_equal(spool_env_set(&env->sender, "alice@example.net"), 0);
	assert_int_equal(spool_env_set(&env->helo, "client.example"), 0);
	assert_int_equal(spool_env_set(&env->host_addr, "192.0.2.7"), 0);
	env->host_port = 41234;
	assert_int_equal(spool_env_set(&env->protocol, "esmtp"), 0);
	env->body_8bit = 1;
	env->smtputf8 = 1;
	assert_int_equal(spool_env_set(&env->envid, "abc+2Bdef"), 0);
	env->ret_full = 1;
	assert_non_null(spool_env_add_rcpt(env, "bob@example.org"));
	r = spool_env_add_rcpt(env, "carol@example.org");
	assert_non_null(r);
	r->notify = SPOOL_NOTIFY_FAILURE | SPOOL_NOTIFY_DELAY;
	assert_int_equal(spool_env_set(&r->orcpt, "rfc822;carol@example.org"), 0);
	return env;
}

static void test_env_roundtrip(void **state)
{
	struct spool_env *env = sample_env(), *back;
	char err[128], *text, *text2;
	size_t len, len2, off;

	(void)state;
	text = spool_env_format(env, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "tern-spool: 1\n"));
	assert_non_null(strstr(text, "rcpt: <carol@example.org> notify=failure,delay orcpt=rfc822;carol@example.org\n"));
	assert_int_equal(text[len - 1], '\n');
	assert_int_equal(text[len - 2], '\n');
	back = spool_env_parse(text, len, &off, err, sizeof(err));
	if (!back)
		fail_msg("%s", err);
	assert_int_equal(off, len);
	text2 = spool_env_format(back, &len2);
	assert_non_null(text2);
	assert_int_equal(len, len2);
	assert_memory_equal(text, text2, len);
	assert_string_equal(back->rcpt[1].orcpt, "rfc822;carol@example.org");
	assert_int_equal(back->host_port, 41234);
	spool_env_free(back);
	free(text2);

	/* every proper prefix is refused cleanly */
	for (size_t i = 0; i < len; i++) {
		back = spool_env_parse(text, i, &off, err, sizeof(err));
		if (back)
			fail_msg("prefix of %zu bytes accepted", i);
	}
	free(text);
	spool_env_free(env);
}

static void test_env_null_sender_and_bad_values(void **state)
{
	struct spool_env *env = spool_env_new(), *back;
	char err[128], *text;
	size_t len, off;

	(void)state;
	assert_int_equal(spool_env_set(&env->sender, ""), 0);
	/* no recipients: refused */
	assert_null(spool_env_format(env, &len));
	assert_non_null(spool_env_add_rcpt(env, "postmaster"));
	text = spool_env_format(env, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "sender: <>\n"));
	back = spool_env_parse(text, len, &off, err, sizeof(err));
	assert_non_null(back);
	assert_string_equal(back->sender, "");
	spool_env_free(back);
	free(text);
	/* a newline in a value could forge an envelope line */
	assert_int_equal(spool_env_set(&env->helo, "x\nrcpt: <evil@example>"), 0);
	assert_null(spool_env_format(env, &len));
	spool_env_free(env);

	assert_null(spool_env_parse("tern-spool: 2\n\n", 15, &off, err, sizeof(err)));
	assert_null(spool_env_parse("tern-spool: 1\narrival: 1\nsender: <>\nrcpt: <a>\nfuture: x\n\n",
	    57, &off, err, sizeof(err)));
	assert_non_null(strstr(err, "unknown key"));
}

static void test_state_fold(void **state)
{
	struct spool_env *env = sample_env();
	char line[256], text[1024] = "tern-state: 1\n";
	int bounced, n;

	(void)state;
	n = spool_state_line(line, sizeof(line), 100, SPOOL_ST_DEFER, 0, 400,
	    "451 4.3.0 try\r\nlater");
	assert_true(n > 0);
	assert_string_equal(line, "100 defer 0 400 451 4.3.0 try  later\n");
	strcat(text, line);
	spool_state_line(line, sizeof(line), 200, SPOOL_ST_FAIL, 1, 0, "550 5.1.1 no such user");
	strcat(text, line);
	strcat(text, "garbage line\n999 ok 7 - out of range\n");
	spool_state_line(line, sizeof(line), 500, SPOOL_ST_OK, 0, 0, "250 2.0.0 queued");
	strcat(text, line);
	/* torn: the last line lost its newline in a crash */
	strcat(text, "600 bounced - - sent");
	n = spool_state_apply(env, text, strlen(text), &bounced);
	assert_int_equal(n, 3);
	assert_int_equal(bounced, 0);
	assert_int_equal(env->rcpt[0].state, SPOOL_RCPT_DELIVERED);
	assert_int_equal(env->rcpt[0].attempts, 2);
	assert_string_equal(env->rcpt[0].last_error, "250 2.0.0 queued");
	assert_int_equal(env->rcpt[1].state, SPOOL_RCPT_FAILED);
	strcat(text, "\n");
	spool_env_free(env);
	env = sample_env();
	spool_state_apply(env, text, strlen(text), &bounced);
	assert_int_equal(bounced, 1);
	spool_env_free(env);
}

static void test_ids(void **state)
{
	char *dir = tmpdir_make(), err[256];
	struct spool *sp;
	static char ids[2000][SPOOL_ID_LEN + 1];
	int i, j;

	(void)state;
	assert_int_equal(spool_open(dir, 1, &sp, err, sizeof(err)), 0);
	for (i = 0; i < 2000; i++) {
		struct spool_writer *w;

		assert_int_equal(spool_writer_new(sp, 0, &w), 0);
		assert_true(spool_id_valid(spool_writer_id(w)));
		memcpy(ids[i], spool_writer_id(w), SPOOL_ID_LEN + 1);
		spool_writer_free(w);
	}
	for (i = 1; i < 2000; i++)
		for (j = i - 1; j >= 0 && j > i - 50; j--)
			assert_true(strcmp(ids[j], ids[i]) < 0);	/* increasing */
	assert_false(spool_id_valid("../etc/passwd"));
	assert_false(spool_id_valid("abcdef-ghijkl-mno/"));
	spool_close(sp);
	tmpdir_remove(dir);
}

static void test_private_spool(void **state)
{
	char *dir = tmpdir_make(), err[256];
	struct spool *sp;

	(void)state;
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(spool_open(dir, 1, &sp, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "must be private"));
	tmpdir_remove(dir);
}

/* write one message; stop (without cleanup) after `step`, in a child */
enum { ST_WRITTEN = 1, ST_SYNCED, ST_LINKED, ST_DIRSYNCED };

static void commit_upto(const char *dir, int step)
{
	struct spool_env *env = sample_env();
	struct spool_writer *w;
	struct spool *sp;
	char err[256], *text;
	size_t len;

	if (spool_open(dir, 1, &sp, err, sizeof(err)) < 0 ||
	    spool_writer_new(sp, 0, &w) < 0 || !(text = spool_env_format(env, &len)))
		_exit(2);
	if (spool_writer_write(w, text, len) < 0 ||
	    spool_writer_write(w, "Subject: x\r\n\r\nbody\r\n", 21) < 0)
		_exit(2);
	if (step >= ST_SYNCED && spool_writer_sync(w) < 0)
		_exit(2);
	if (step >= ST_LINKED && spool_writer_link(w) < 0)
		_exit(2);
	if (step >= ST_DIRSYNCED && spool_dir_sync(sp) < 0)
		_exit(2);
	_exit(0);	/* dead: no free, no unlink, no close */
}

static void test_crash_points(void **state)
{
	int step;

	(void)state;
	for (step = ST_WRITTEN; step <= ST_DIRSYNCED; step++) {
		char *dir = tmpdir_make(), err[256];
		struct spool *sp;
		unsigned removed;
		char **ids;
		size_t n;
		int status;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0)
			commit_upto(dir, step);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		assert_int_equal(spool_open(dir, 1, &sp, err, sizeof(err)), 0);
		assert_int_equal(spool_recover(sp, &removed), 0);
		assert_int_equal(spool_list(sp, &ids, &n), 0);
		if (step < ST_LINKED) {
			/* not committed: the half-written file is gone */
			assert_int_equal(removed, 1);
			assert_int_equal(n, 0);
		} else {
			struct spool_msg *m;

			assert_int_equal(removed, 0);
			assert_int_equal(n, 1);
			assert_int_equal(spool_msg_open(sp, ids[0], 1, &m, err, sizeof(err)), 0);
			assert_int_equal(m->env->n_rcpt, 2);
			assert_int_equal(m->data_size, 21);
			spool_msg_close(m);
		}
		spool_list_free(ids, n);
		spool_close(sp);
		tmpdir_remove(dir);
	}
}

static void test_locking(void **state)
{
	char *dir = tmpdir_make(), err[256];
	struct spool_env *env = sample_env();
	struct spool_writer *w;
	struct spool_msg *m, *m2;
	struct spool *sp;
	unsigned fsyncs;
	char id[SPOOL_ID_LEN + 1], *text;
	size_t len;
	int pipefd[2], status;
	pid_t pid;

	(void)state;
	assert_int_equal(spool_open(dir, 1, &sp, err, sizeof(err)), 0);
	assert_int_equal(spool_writer_new(sp, 0, &w), 0);
	text = spool_env_format(env, &len);
	assert_int_equal(spool_writer_write(w, text, len), 0);
	assert_int_equal(spool_writer_commit(w, &fsyncs), 0);
	assert_int_equal(fsyncs, 2);
	memcpy(id, spool_writer_id(w), sizeof(id));
	spool_writer_free(w);
	free(text);

	/* same process: a second locked open is refused, and the first lock
	 * is not lost by it */
	assert_int_equal(spool_msg_open(sp, id, 1, &m, err, sizeof(err)), 0);
	assert_int_equal(spool_msg_open(sp, id, 1, &m2, err, sizeof(err)), -EAGAIN);
	/* another process cannot lock it either */
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		struct spool *sp2;
		struct spool_msg *mc;
		char e[256], c;

		if (spool_open(dir, 0, &sp2, e, sizeof(e)) < 0)
			_exit(2);
		if (spool_msg_open(sp2, id, 1, &mc, e, sizeof(e)) != -EAGAIN)
			_exit(3);
		/* wait until the parent released it */
		if (read(pipefd[0], &c, 1) != 1)
			_exit(4);
		if (spool_msg_open(sp2, id, 1, &mc, e, sizeof(e)) != 0)
			_exit(5);
		spool_msg_close(mc);
		_exit(0);
	}
	{
		struct timespec ts = { 0, 100000000 };

		nanosleep(&ts, NULL);
	}
	/* state appends survive and fold */
	{
		char line[128];
		int n = spool_state_line(line, sizeof(line), 1, SPOOL_ST_DEFER, 1, 99, "451 later");

		assert_int_equal(spool_msg_state_append(m, line, (size_t)n), 0);
	}
	spool_msg_close(m);
	assert_int_equal(write(pipefd[1], "x", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(spool_msg_open(sp, id, 0, &m, err, sizeof(err)), 0);
	assert_int_equal(m->env->rcpt[1].next_retry, 99);
	assert_string_equal(m->env->rcpt[1].last_error, "451 later");
	spool_msg_close(m);
	/* removal: gone from the list, and recovery has nothing to do */
	assert_int_equal(spool_msg_open(sp, id, 1, &m, err, sizeof(err)), 0);
	assert_int_equal(spool_msg_remove(m), 0);
	spool_msg_close(m);
	{
		char **ids;
		size_t n;
		unsigned removed;

		assert_int_equal(spool_list(sp, &ids, &n), 0);
		assert_int_equal(n, 0);
		spool_list_free(ids, n);
		assert_int_equal(spool_recover(sp, &removed), 0);
		assert_int_equal(removed, 0);
	}
	close(pipefd[0]);
	close(pipefd[1]);
	spool_env_free(env);
	spool_close(sp);
	tmpdir_remove(dir);
}

/* recovery in one process leaves another process's open writer alone */
static void test_recover_spares_live_writer(void **state)
{
	char *dir = tmpdir_make(), err[256];
	struct spool *sp, *sp2;
	struct spool_writer *w;
	unsigned removed;
	int pipefd[2], back[2], status;
	pid_t pid;

	(void)state;
	assert_int_equal(spool_open(dir, 1, &sp, err, sizeof(err)), 0);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(pipe(back), 0);
	pid = fork();
	if (pid == 0) {
		char c;

		if (spool_writer_new(sp, 0, &w) < 0)
			_exit(2);
		if (write(back[1], "r", 1) != 1 || read(pipefd[0], &c, 1) != 1)
			_exit(3);
		/* the file must still be there to commit */
		_exit(spool_writer_link(w) == 0 ? 0 : 4);
	}
	{
		char c;

		assert_int_equal(read(back[0], &c, 1), 1);
	}
	assert_int_equal(spool_open(dir, 0, &sp2, err, sizeof(err)), 0);
	assert_int_equal(spool_recover(sp2, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(write(pipefd[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(pipefd[0]);
	close(pipefd[1]);
	close(back[0]);
	close(back[1]);
	spool_close(sp2);
	spool_close(sp);
	tmpdir_remove(dir);
}

/* a torn last line (a power cut in an append) is cut off by the next
 * append, never glued to it: the new line folds, the fragment does not */
static void test_state_torn_append(void **state)
{
	char *dir = tmpdir_make(), err[256], path[600], line[128];
	struct spool_env *env = sample_env();
	struct spool_writer *w;
	struct spool_msg *m;
	struct spool *sp;
	unsigned fsyncs;
	long long avail;
	char id[SPOOL_ID_LEN + 1], *text;
	size_t len;
	FILE *f;
	int n;

	(void)state;
	assert_int_equal(spool_open(dir, 1, &sp, err, sizeof(err)), 0);
	assert_int_equal(spool_writer_new(sp, 0, &w), 0);
	text = spool_env_format(env, &len);
	assert_int_equal(spool_writer_write(w, text, len), 0);
	assert_int_equal(spool_writer_commit(w, &fsyncs), 0);
	memcpy(id, spool_writer_id(w), sizeof(id));
	spool_writer_free(w);
	free(text);
	/* a "fail" for recipient 1 torn before its newline: readers ignore
	 * it; glued to the next line it would fail recipient 1 for good */
	snprintf(path, sizeof(path), "%s/queue/%s.st", dir, id);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("tern-state: 1\n5 defer 0 77 451 first\n6 fail 1 - 550 no", f);
	fclose(f);
	assert_int_equal(spool_msg_open(sp, id, 1, &m, err, sizeof(err)), 0);
	assert_int_equal(m->env->rcpt[1].state, SPOOL_RCPT_PENDING);
	n = spool_state_line(line, sizeof(line), 7, SPOOL_ST_DEFER, 1, 99, "451 later");
	assert_int_equal(spool_msg_state_append(m, line, (size_t)n), 0);
	spool_msg_close(m);
	assert_int_equal(spool_msg_open(sp, id, 0, &m, err, sizeof(err)), 0);
	assert_int_equal(m->env->rcpt[0].next_retry, 77);
	assert_int_equal(m->env->rcpt[1].next_retry, 99);
	assert_string_equal(m->env->rcpt[1].last_error, "451 later");
	assert_int_equal(m->env->rcpt[1].state, SPOOL_RCPT_PENDING);
	spool_msg_close(m);
	f = fopen(path, "r");
	assert_non_null(f);
	{
		char buf[512];
		size_t got = fread(buf, 1, sizeof(buf) - 1, f);

		buf[got] = '\0';
		assert_string_equal(buf, "tern-state: 1\n5 defer 0 77 451 first\n"
		    "7 defer 1 99 451 later\n");
	}
	fclose(f);
	/* the free space check: off at 0, short when asked for everything */
	assert_int_equal(spool_space_low(sp, 0, 0, &avail), 0);
	assert_int_equal(spool_space_low(sp, 0, 1, &avail), 0);
	assert_true(avail > 0);
	assert_int_equal(spool_space_low(sp, avail, 1, &avail), 1);
	assert_int_equal(spool_space_low(sp, 0, avail + 1, &avail), 1);
	spool_env_free(env);
	spool_close(sp);
	tmpdir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_torn_append),
		cmocka_unit_test(test_env_roundtrip),
		cmocka_unit_test(test_env_null_sender_and_bad_values),
		cmocka_unit_test(test_state_fold),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_private_spool),
		cmocka_unit_test(test_crash_points),
		cmocka_unit_test(test_locking),
		cmocka_unit_test(test_recover_spares_live_writer),
	};

	return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
