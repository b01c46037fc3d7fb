/* See LICENSE file for copyright and license details. */
/*
 * What sbx and sbx-supervise agree on: where sbx's files are in the
 * container, how the init is called, and a session's step protocol.
 * Included by supervise.c, which is built alone and static, and by the
 * host's side (backend_cli.c, rundir.c, step.c): macros only.
 *
 * The container's view of a run directory (see rundir.c):
 *	/workspace	rundir/ws, the shadow copy (ro, rw, or empty)
 *	/sbx		rundir/sbx, read-only
 *	/sbx/out	rundir/out, the one place written back
 *	/sbx/ctl	rundir/ctl, a session's FIFOs
 */
#define CTR_WORKSPACE	"/workspace"
#define CTR_SBX		"/sbx"
#define CTR_OUT		"/sbx/out"
#define OUT_RESULT	"result.json"	/* under /sbx/out: $SBX_RESULT */
#define OUT_REFUSED	"refused"	/* under /sbx/out: the guard's word */
#define OUT_USAGE	"usage"		/* under /sbx/out: the init's count */
#define CTR_RESULT	CTR_OUT "/" OUT_RESULT
#define NAME_GUARD	"sbx_guard.py"	/* under /sbx */
#define CTR_GUARD	CTR_SBX "/" NAME_GUARD
#define CTR_CTL		"/sbx/ctl"

/*
 * A run's pid 1, bind-mounted from the host:
 *	/sbx/init -t SECONDS -- ARGV...
 * Its own failures are one stderr line that starts with INIT_SAYS, and
 * exit status 125: the script never ran.  Its environment's
 * ENV_INIT_KEY (NONCE_LEN hex digits, removed before the script runs)
 * starts the line "KEY CPU_US PEAK OOM" it writes to OUT_USAGE once all
 * of the run is dead: CPU microseconds, the memory cgroup's peak in
 * bytes or -1, and its count of OOM kills or -1.  INIT_STOP from
 * outside the container ends the run so.
 */
#define NAME_INIT	"init"		/* under /sbx */
#define CTR_INIT	CTR_SBX "/" NAME_INIT
#define INIT_SAYS	"sbx-supervise: "
/* A compiled language's compile ends with this line on stdout and on
 * stderr, then "KEY CODE CPU_US\n": the host cuts it out. */
#define COMPILED_SAYS	"\036sbx-compiled "
#define ENV_INIT_KEY	"SBX_INIT_KEY"
/*
 * allow_hosts: the container has no network.  With "-n" after its "-t
 * SECONDS", the init forwards each connection to 127.0.0.1:PROXY_PORT
 * to the host's proxy (proxy.c) on the Unix socket CTR_PROXY, which
 * checks the request and connects, or answers with a refusal.  A
 * session's supervisor with "-n" binds the port at its start and holds
 * it, so that no step can take it, and forwards it while each step
 * runs; the proxy is then sbx exec's, made anew for each step.
 */
#define NAME_PROXY	"proxy"		/* under /sbx */
#define CTR_PROXY	CTR_SBX "/" NAME_PROXY
#define PROXY_PORT	3128
#define PROXY_URL	"http://127.0.0.1:3128"
#define INIT_STOP	SIGUSR2
#define INIT_STOP_NAME	"SIGUSR2"

/*
 * A session's pid 1, copied into rundir/sbx:
 *	/sbx/supervise IDLE MAX [-n]
 * It opens CTR_REQ and CTR_RSP and says "ready".  For step N the host
 * writes STEP_REQ (the timeout, MODE_STEP or MODE_REPL, then argv, each
 * NUL-terminated) and the
 * script under STEP_SCRIPTS, opens the FIFOs STEP_OUT and STEP_ERR to
 * read and, for a step with input, STEP_IN to write (without it the
 * step's stdin is /dev/null), and sends "run N NONCE".  The answer is the line
 * "NONCE STATUS VALUE MS OOM LOST CPU_US RSS_KB PEAK": the step's CPU
 * microseconds, the largest peak resident set of its processes in kB,
 * the container's memory peak in bytes (-1: unknown).  Every line either side writes starts
 * with a '\n' of its own: a step can leave a partial line in a FIFO.
 *
 * A repl step's (MODE_REPL) argv is INTERPRETER... CTR_GUARD REPL_FLAG
 * TEMPLATE LIST SCRIPT ARG...: the guard, as the session's interpreter,
 * runs it in the namespace of the steps before it.  The supervisor starts that
 * interpreter (all of argv up to LIST) once and keeps it across steps,
 * with REPL_REQ_FD to read "N\n" from and REPL_RSP_FD to say "N in\n"
 * on once it has step N's STEP_IN open and "N CODE\n" once its code is
 * done; it reads step N's request file itself.  A step's stdout and
 * stderr are REPL_OUT_FD and REPL_ERR_FD, pipes that the supervisor
 * empties into STEP_OUT and STEP_ERR, as it does a plain step's.
 *
 * Before the status, the supervisor says "open NONCE" once the step's
 * stdin is open on its side: only then may the host close its writer of
 * STEP_IN (a FIFO opened with no writer never reports POLLHUP).  LOST is 1 if the step did not run in, or did not leave,
 * the interpreter of the steps before it.
 *
 * Requests, at most LINE_MAX_REQ bytes with the '\n':
 *	run N NONCE	run step N; when idle only
 *	kill NONCE	end the running step if it has that nonce
 *	ping		answer "pong", and count as a step for IDLE;
 *			when idle only
 *	stop		exit 0; when idle only
 */
#define NAME_SUPERVISE	"supervise"	/* under /sbx */
#define MODE_STEP	"step"
#define MODE_REPL	"repl"
#define REPL_FLAG	"--repl"
#define REPL_REQ_FD	3		/* the repl interpreter's */
#define REPL_RSP_FD	4
#define REPL_OUT_FD	5		/* its steps' stdout, a pipe */
#define REPL_ERR_FD	6		/* and stderr: 3 to 6 in a row */
#define CTR_SUPERVISE	CTR_SBX "/" NAME_SUPERVISE
#define CTR_REQ		"/sbx/ctl/req"
#define CTR_RSP		"/sbx/ctl/rsp"
#define STEP_REQ	"steps/%lld/req"	/* under /sbx */
#define STEP_SCRIPTS	"steps/%lld/s"		/* under /sbx */
#define STEP_OUT	"%lld.out"		/* under /sbx/ctl */
#define STEP_ERR	"%lld.err"		/* under /sbx/ctl */
#define STEP_IN		"%lld.in"		/* under /sbx/ctl */

#define REQ_RUN		"run "		/* N NONCE */
#define REQ_KILL	"kill "		/* NONCE */
#define REQ_PING	"ping"
#define REQ_STOP	"stop"
#define SAY_READY	"ready"
#define SAY_PONG	"pong"
#define SAY_OPEN	"open"		/* NONCE */
#define REPL_OPEN	"in"

/* STATUS VALUE in an answer; OOM is 1 if the OOM killer struck. */
#define ST_EXIT		"exit"		/* CODE */
#define ST_SIGNAL	"signal"	/* NUMBER */
#define ST_TIMEOUT	"timeout"	/* 0: the step's timeout */
#define ST_KILLED	"killed"	/* 0: a "kill" came */
#define ST_LIFETIME	"lifetime"	/* 0: MAX came, the session ends */
#define ST_ERROR	"error"		/* 125: no valid request or FIFO */

#define LINE_MAX_REQ	128		/* a request line, '\n' included */
#define NONCE_LEN	32		/* hex digits */
#define FILE_MAX	(256 * 1024)	/* a step's request file */
#define STEP_MAX	1000000000LL	/* step numbers are 1..STEP_MAX */
#define TIMEOUT_MAX	604800LL	/* a step's timeout: a week */
#define SECONDS_MAX	1000000000LL	/* IDLE and MAX */
