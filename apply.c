/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"

/*
 * sbx apply: the shadow's changes back into the original tree, each
 * path only where the original is still as it was copied.  Deletions
 * go first, deepest first, so that a directory replaced by a file is
 * empty when it goes; then additions and modifications in path order,
 * so that a new directory exists before what lands in it.  Every write
 * is a temp file renamed into place, every path is opened component
 * by component without following a link, and nothing but regular
 * files, directories and links that stay inside the tree is applied.
 */

struct applier {
	struct tree *t;
	int dry;
	mode_t umask;
	unsigned long tmpno;
	size_t done[3];		/* applied, conflict, refused */
};

enum { APPLIED, CONFLICT, REFUSED };
static const char *status_names[] = { "applied", "conflict", "refused" };

static int
report(struct applier *a, struct change *c, int status, const char *why)
{
	static const char *kinds[] = { "added", "modified", "deleted" };
	struct jbuf j;

	if (status != APPLIED)
		c->failed = 1;
	else if (!a->dry)
		c->done = 1;
	a->done[status]++;
	jb_begin(&j, "apply");
	jb_str(&j, "path", c->path);
	jb_str(&j, "change", kinds[c->kind]);
	jb_str(&j, "status", a->dry && status == APPLIED ? "would apply" :
	    status_names[status]);
	jb_str(&j, "reason", why);
	jb_emit(&j);
	return status;
}

/*
 * A link is applied only if its target stays in the tree read as
 * written: relative, its ".." all at the front, never above the root.
 */
static int
link_inside(const char *path, const char *target)
{
	const char *p;
	long depth = 0;
	size_t n;
	int named = 0;

	if (*target == '/' || *target == '\0')
		return 0;
	for (p = path; *p; p++)
		depth += *p == '/';
	for (p = target; *p; p += n) {
		p += strspn(p, "/");
		n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (named || --depth < 0)
				return 0;
		} else if (n > 0 && !(n == 1 && *p == '.')) {
			named = 1;
		}
	}
	return 1;
}

static mode_t
new_mode(const struct applier *a, const struct change *c)
{
	/* Not changed by the script: the original's own, bar setuid. */
	if (c->old && (c->old->mode & S_IFMT) == (c->now->mode & S_IFMT) &&
	    (c->now->mode & 07777) == (c->old->smode & 07777))
		return c->old->mode & 0777;
	return c->now->mode & 0777 & ~a->umask;
}

static void
tmp_name(struct applier *a, char *buf, size_t n)
{
	snprintf(buf, n, ".sbx-apply.%ld.%lu", (long)getpid(), a->tmpno++);
}

/*
 * The new content as a temp file in dfd, complete and synced; for a
 * link, the target that was checked, read once.
 */
static int
make_temp(struct applier *a, const struct change *c, const char *target,
    int dfd, char *tmp, size_t tmpsz, const struct stat *own)
{
	struct stat st;
	int in, out, r = -1;

	tmp_name(a, tmp, tmpsz);
	if (S_ISLNK(c->now->mode))
		return symlinkat(target, dfd, tmp) < 0 || (own &&
		    fchownat(dfd, tmp, own->st_uid, own->st_gid,
		    AT_SYMLINK_NOFOLLOW) < 0) ? -1 : 0;
	if ((in = open_file(a->t->sfd, c->path, &st)) < 0)
		return -1;
	if ((out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) >= 0) {
		/* The owner first: a chown would clear mode bits. */
		r = copy_fd(in, out) == 0 && (own == NULL ||
		    fchown(out, own->st_uid, own->st_gid) == 0) &&
		    fchmod(out, new_mode(a, c)) == 0 &&
		    fsync(out) == 0 ? 0 : -1;
		if (close(out) < 0)
			r = -1;
		if (r < 0)
			unlinkat(dfd, tmp, 0);
	}
	close(in);
	return r;
}

/*
 * Why the shadow entry will not be applied, or NULL.  A link's target
 * is read into target, once: what is checked is what is made.
 */
static const char *
refusal(const struct applier *a, const struct change *c, char *target)
{
	const char *name;
	ssize_t n = -1;
	int dfd;

	if (S_ISREG(c->now->mode) || S_ISDIR(c->now->mode))
		return NULL;
	if (!S_ISLNK(c->now->mode))
		return "not a regular file, directory or symbolic link";
	if ((dfd = open_parent(a->t->sfd, c->path, &name)) >= 0) {
		n = readlinkat(dfd, name, target, PATH_MAX - 1);
		close(dfd);
	}
	if (n < 0)
		return "link cannot be read";
	target[n] = '\0';
	return link_inside(c->path, target) ? NULL :
	    "link points outside the tree";
}

static int
type_changed(const struct change *c)
{
	return c->kind == MODIFIED && (c->old->mode & S_IFMT) !=
	    (c->now->mode & S_IFMT);
}

/* Phase one: the old entry goes, if it is still as copied. */
static void
remove_old(struct applier *a, struct change *c)
{
	const char *name;
	int dfd, r;

	if (!orig_unchanged(a->t, c->old)) {
		report(a, c, CONFLICT, "the original changed since the copy");
		return;
	}
	if (a->dry) {
		if (c->kind == DELETED)
			report(a, c, APPLIED, NULL);
		return;
	}
	if ((dfd = open_parent(a->t->ofd, c->path, &name)) < 0) {
		report(a, c, CONFLICT, "its directory cannot be opened");
		return;
	}
	r = unlinkat(dfd, name, S_ISDIR(c->old->mode) ? AT_REMOVEDIR : 0);
	close(dfd);
	if (r < 0)
		report(a, c, CONFLICT, errno == ENOTEMPTY || errno == EEXIST ?
		    "the directory is not empty" : strerror(errno));
	else if (c->kind == DELETED)
		report(a, c, APPLIED, NULL);
}

/* A directory's new mode, on the directory itself, never a link. */
static int
chmod_dir(int dfd, const char *name, mode_t mode)
{
	int fd, r;

	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -1;
	r = fchmod(fd, mode);
	close(fd);
	return r;
}

/*
 * Whose a new entry is when root applies: the owner of the entry it
 * replaces, or of the directory it lands in, so that a tree stays its
 * owner's.  NULL when we are not root and cannot give files away.
 */
static const struct stat *
owner(int dfd, const char *name, int replace, struct stat *st)
{
	if (geteuid() != 0)
		return NULL;
	if (replace && fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) == 0)
		return st;
	return fstat(dfd, st) == 0 ? st : NULL;
}

/* Puts the shadow's entry at name in dfd; replace: over the old one. */
static int
put(struct applier *a, const struct change *c, const char *target, int dfd,
    const char *name, int replace)
{
	const struct stat *own;
	struct stat st;
	char tmp[64];
	int r, saved;

	own = owner(dfd, name, replace, &st);
	if (S_ISDIR(c->now->mode) && replace)
		return chmod_dir(dfd, name, new_mode(a, c));
	if (S_ISDIR(c->now->mode))
		return mkdirat(dfd, name, 0700) < 0 || (own &&
		    fchownat(dfd, name, own->st_uid, own->st_gid,
		    AT_SYMLINK_NOFOLLOW) < 0) ? -1 :
		    chmod_dir(dfd, name, new_mode(a, c));
	if (make_temp(a, c, target, dfd, tmp, sizeof(tmp), own) < 0)
		return -1;
	/* The copy took time: the original must still be as copied.  A
	 * new name must not clobber what appeared since: link(2) fails
	 * if it exists, where rename(2) would replace it. */
	if (replace && !orig_unchanged(a->t, c->old)) {
		errno = ESTALE;
		r = -1;
	} else if (replace) {
		r = renameat(dfd, tmp, dfd, name);
	} else {
		r = linkat(dfd, tmp, dfd, name, 0);
	}
	saved = errno;
	if (r < 0 || !replace)
		unlinkat(dfd, tmp, 0);
	errno = saved;
	return r;
}

/* Phase two: the new entry lands, where nothing is in its way. */
static void
put_new(struct applier *a, struct change *c)
{
	char target[PATH_MAX];
	const char *name, *why;
	struct stat st;
	int dfd, replace, r;

	replace = c->kind == MODIFIED && (c->old->mode & S_IFMT) ==
	    (c->now->mode & S_IFMT);
	if ((why = refusal(a, c, target)) != NULL) {
		report(a, c, REFUSED, why);
		return;
	}
	if (replace && !orig_unchanged(a->t, c->old)) {
		report(a, c, CONFLICT, "the original changed since the copy");
		return;
	}
	if ((dfd = open_parent(a->t->ofd, c->path, &name)) < 0) {
		/* A dry run has not made the new directories. */
		if (a->dry && errno == ENOENT)
			report(a, c, APPLIED, NULL);
		else
			report(a, c, CONFLICT, "its directory is missing or "
			    "not a directory");
		return;
	}
	if (!replace && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !(a->dry && c->kind == MODIFIED)) {
		close(dfd);
		report(a, c, CONFLICT, "something exists there in the original");
		return;
	}
	r = a->dry ? 0 : put(a, c, target, dfd, name, replace);
	close(dfd);
	if (r < 0)
		report(a, c, CONFLICT, errno == EEXIST ? "something exists "
		    "there in the original" : errno == ESTALE ? "the original "
		    "changed since the copy" : strerror(errno));
	else
		report(a, c, APPLIED, NULL);
}

/* Records what was applied, so that the next apply starts from it. */
static void
manifest_update(struct tree *t)
{
	struct entries es = { NULL, 0, 0 };
	struct stat ost, sst;
	const struct change *c;
	size_t i, k = 0;

	for (i = 0; i < t->old.n; i++) {
		while (k < t->nchanges && strcmp(t->changes[k].path,
		    t->old.v[i].path) < 0)
			k++;
		c = k < t->nchanges && t->changes[k].old == &t->old.v[i] ?
		    &t->changes[k] : NULL;
		if (c == NULL || !c->done)
			entries_copy(&es, &t->old.v[i]);
	}
	for (i = 0; i < t->nchanges; i++) {
		c = &t->changes[i];
		if (c->now && c->done &&
		    lstat_at(t->ofd, c->path, &ost) == 0 &&
		    lstat_at(t->sfd, c->path, &sst) == 0)
			manifest_add(&es, c->path, &ost, &sst, sst.st_mode);
	}
	manifest_write(t->lay.manifest, t->dir, t->extra, &es);
	entries_free(&es);
}

/*
 * A directory replaced by something sbx refuses stays, and so does
 * everything in it: its contents look deleted only because the
 * replacement hides them.
 */
static void
refuse_replaced(struct applier *a)
{
	struct tree *t = a->t;
	struct change *c, *up;
	char target[PATH_MAX], *p, *slash;
	const char *why;
	size_t i;

	for (i = 0; i < t->nchanges; i++) {
		c = &t->changes[i];
		if (c->selected && type_changed(c) && S_ISDIR(c->old->mode) &&
		    (why = refusal(a, c, target)) != NULL) {
			report(a, c, REFUSED, why);
			c->blocks = 1;
		}
	}
	for (i = 0; i < t->nchanges; i++) {
		c = &t->changes[i];
		if (!c->selected || c->failed)
			continue;
		p = estrdup(c->path);
		while ((slash = strrchr(p, '/')) != NULL) {
			*slash = '\0';
			if ((up = tree_find(t, p)) != NULL && up->blocks) {
				report(a, c, REFUSED, "its directory was "
				    "replaced by something refused");
				break;
			}
		}
		free(p);
	}
}

/*
 * Applies t's selected changes to the original; dry: only says what
 * would happen.  Returns 0 if every change applied, 1 if any did not.
 */
int
tree_apply(struct tree *t, int dry)
{
	struct applier a;
	struct jbuf j;
	size_t i;

	memset(&a, 0, sizeof(a));
	a.t = t;
	a.dry = dry;
	a.umask = umask(0);
	umask(a.umask);
	if (t->incomplete)
		die("%s: the shadow could not be read whole (%s); nothing "
		    "applied", t->lay.ws, t->incomplete);
	refuse_replaced(&a);
	for (i = t->nchanges; i-- > 0 && !sbx_signalled(); )
		if (t->changes[i].selected && !t->changes[i].failed &&
		    (t->changes[i].kind == DELETED ||
		    type_changed(&t->changes[i])))
			remove_old(&a, &t->changes[i]);
	for (i = 0; i < t->nchanges && !sbx_signalled(); i++)
		if (t->changes[i].selected && t->changes[i].kind != DELETED &&
		    !t->changes[i].failed)
			put_new(&a, &t->changes[i]);
	if (!dry)
		manifest_update(t);
	jb_begin(&j, "applied");
	jb_int(&j, "applied", (long long)a.done[APPLIED]);
	jb_int(&j, "conflicts", (long long)a.done[CONFLICT]);
	jb_int(&j, "refused", (long long)a.done[REFUSED]);
	jb_bool(&j, "dry_run", dry);
	if (sbx_signalled())
		jb_int(&j, "interrupted", sbx_signalled());
	else
		jb_null(&j, "interrupted");
	jb_emit(&j);
	return a.done[CONFLICT] || a.done[REFUSED] || sbx_signalled();
}

/*
 * What sbx diff and apply work on: a kept run's directory or its ws/
 * (the result's "shadow"), or a session's id.  Its layout, or die.
 */
static void
target(const char *arg, struct layout *l)
{
	char real[PATH_MAX], *slash;
	struct layout up;
	struct stat st;

	if (session_id_ok(arg)) {
		layout_set(l, session_find(arg));
		return;
	}
	if (realpath(arg, real) == NULL)
		die("%s:", arg);
	layout_set(l, estrdup(real));
	/* The result's "shadow" is the run's ws/: the run is above it. */
	if ((slash = strrchr(real, '/')) != NULL && slash != real) {
		*slash = '\0';
		layout_set(&up, estrdup(real));
		*slash = '/';
		if (strcmp(up.ws, real) == 0) {
			layout_free(l);
			*l = up;
		} else {
			layout_free(&up);
		}
	}
	if (lstat(l->manifest, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid())
		die("%s: not a kept sbx run with a rw workspace, nor a "
		    "session id", arg);
}

static void
write_patch(const struct change *c, const char *patch, const char *why,
    void *arg)
{
	size_t n = strlen(patch);

	(void)c;
	(void)why;
	if (fwrite(patch, 1, n, stdout) != n)
		*(int *)arg = 1;
}

/*
 * What sbx diff and apply share: one flag letter, a target and its
 * patterns; the tree opened, a session's lock held and a step left by a
 * killed sbx exec ended.  Returns the lock, or -1 for a usage error.
 */
static int
tree_args(int argc, char *argv[], int flag, int *set, struct tree *t)
{
	char opts[2] = { (char)flag, '\0' };
	struct layout l;
	int c, lock;

	while ((c = getopt(argc, argv, opts)) != -1) {
		if (c != flag)
			return -1;
		*set = 1;
	}
	if (optind >= argc)
		return -1;
	target(argv[optind], &l);
	lock = session_lock(l.dir, 0);
	step_settle(&l);
	tree_open(t, l.dir);
	tree_select(t, argv + optind + 1);
	layout_free(&l);
	return lock;
}

/* sbx diff [-j] target [pattern ...]: a patch, or JSON events. */
int
cmd_diff(int argc, char *argv[])
{
	struct tree t;
	int json = 0, err = 0, lock;

	if ((lock = tree_args(argc, argv, 'j', &json, &t)) < 0)
		return EXIT_USAGE;
	/* A patch of part of the changes would delete what was unseen
	 * as surely as git apply takes it; the events say incomplete. */
	if (t.incomplete && !json)
		die("%s: the shadow could not be read whole (%s); no patch",
		    t.lay.ws, t.incomplete);
	if (json) {
		event_changes(&t);
		tree_diffs(&t, event_diff, NULL);
	} else {
		tree_diffs(&t, write_patch, &err);
	}
	tree_close(&t);
	close(lock);
	return err ? EXIT_FAIL : 0;
}

/* sbx apply [-n] target [pattern ...] */
int
cmd_apply(int argc, char *argv[])
{
	struct tree t;
	int dry = 0, status, lock;

	if ((lock = tree_args(argc, argv, 'n', &dry, &t)) < 0)
		return EXIT_USAGE;
	status = tree_apply(&t, dry);
	tree_close(&t);
	close(lock);
	return status;
}
