// stuck_fs MOUNTPOINT [allow_other]: a FUSE file system of one file, "file", whose every
// close() never returns: the FLUSH request that each close sends is never
// answered. Any local user can mount one (fusermount3) and pass a
// descriptor of that file to a process, which then waits for ever when it
// closes it; SIGKILL does not end the wait. Prints "mounted" once
// mounted and "flush" for each FLUSH it holds; runs until SIGTERM, and its
// end (the connection's) ends every wait.
#define FUSE_USE_VERSION 34
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

enum { ROOT = 1, FILE_INO = 2 };

static int attributes(fuse_ino_t ino, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_ino = ino;
  if (ino == ROOT) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
  } else if (ino == FILE_INO) {
    st->st_mode = S_IFREG | 0666;
    st->st_nlink = 1;
  } else {
    return ENOENT;
  }
  return 0;
}

static void do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct fuse_entry_param entry;
  memset(&entry, 0, sizeof entry);
  if (parent != ROOT || strcmp(name, "file") != 0) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  entry.ino = FILE_INO;
  entry.attr_timeout = entry.entry_timeout = 3600;
  attributes(FILE_INO, &entry.attr);
  fuse_reply_entry(req, &entry);
}

static void do_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)fi;
  struct stat st;
  int error = attributes(ino, &st);
  if (error) fuse_reply_err(req, error);
  else fuse_reply_attr(req, &st, 3600);
}

static void do_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  if (ino != FILE_INO) fuse_reply_err(req, EISDIR);
  else fuse_reply_open(req, fi);
}

static void do_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)ino, (void)size, (void)off, (void)fi;
  fuse_reply_buf(req, NULL, 0);
}

// Never answered: the closer waits until this process ends.
static void do_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)req, (void)ino, (void)fi;
  printf("flush\n");
  fflush(stdout);
}

static void do_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino, (void)fi;
  fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops ops = {
    .lookup = do_lookup,
    .getattr = do_getattr,
    .open = do_open,
    .read = do_read,
    .flush = do_flush,
    .release = do_release,
};

int main(int argc, char **argv) {
  int others = argc == 3 && strcmp(argv[2], "allow_other") == 0;
  if (argc != 2 && !others) {
    fprintf(stderr, "usage: stuck_fs MOUNTPOINT [allow_other]\n");
    return 2;
  }
  // allow_other: other users may open its file too (mounted by root).
  char *fuse_argv[] = {argv[0], "-o", others ? "fsname=stuck_fs,allow_other" : "fsname=stuck_fs", NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, fuse_argv);
  struct fuse_session *session = fuse_session_new(&args, &ops, sizeof ops, NULL);
  if (!session) return 1;
  if (fuse_set_signal_handlers(session) != 0 || fuse_session_mount(session, argv[1]) != 0) {
    fuse_session_destroy(session);
    return 1;
  }
  printf("mounted\n");
  fflush(stdout);
  int status = fuse_session_loop(session);
  fuse_session_unmount(session);
  fuse_remove_signal_handlers(session);
  fuse_session_destroy(session);
  return status < 0 ? 1 : 0;
}
