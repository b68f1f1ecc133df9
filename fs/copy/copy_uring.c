/* copy_uring.c - copy small files with io_uring: each file is one linked
   chain of six requests on direct (registered) descriptors,

     openat2(src) -> read(buffer) -> close -> openat2(dst, O_EXCL) -> write -> close

   so a file costs one submission and no descriptor in the process's table;
   SLOTS chains are in flight per ring and each worker thread has its own
   ring.  Buffers are registered when RLIMIT_MEMLOCK allows it.  A short
   read or write breaks the chain (the kernel cancels the rest), and the
   file is then finished by copy_one_file; any other failure fails the run
   with the file's name.  Files larger than a buffer go to copy_one_file
   (reflink or copy_file_range), and the times are set afterwards (utimensat:
   io_uring has no such request).  */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "copy_impl.h"

#define SLOTS 32
#define STEPS 6
#define BUF_SIZE COPY_URING_MAX

struct slot
{
  const struct copy_file *file;
  int pending;            /* CQEs still to come for this chain */
  int error;              /* first real error (not -ECANCELED) */
  bool short_io;          /* a short read or write broke the chain */
  struct open_how src_how, dst_how;
};

struct worker
{
  struct io_uring ring;
  struct slot slots[SLOTS];
  char *buffers;
  bool fixed_bufs;
  int in_flight;
};

static const char *const STEP_NAMES[STEPS] = { "open", "read", "close", "create", "write", "close" };

bool
copy_uring_usable (const char **why)
{
  struct io_uring ring;
  int r = io_uring_queue_init (8, &ring, 0);
  if (r < 0)
    {
      *why = strerror (-r);
      return false;
    }
  struct io_uring_probe *probe = io_uring_get_probe_ring (&ring);
  bool ok = probe && io_uring_opcode_supported (probe, IORING_OP_OPENAT2)
            && io_uring_opcode_supported (probe, IORING_OP_CLOSE)
            && io_uring_opcode_supported (probe, IORING_OP_READ_FIXED)
            && io_uring_opcode_supported (probe, IORING_OP_WRITE_FIXED);
  if (probe)
    io_uring_free_probe (probe);
  if (ok)
    {
      /* Direct descriptors need a sparse file table (Linux 5.19). */
      r = io_uring_register_files_sparse (&ring, 2);
      if (r < 0)
        ok = false;
    }
  io_uring_queue_exit (&ring);
  if (!ok)
    *why = "the kernel lacks openat2/close/fixed-buffer requests or direct descriptors";
  return ok;
}

static int
worker_init (struct worker *w)
{
  memset (w, 0, sizeof *w);
  int r = io_uring_queue_init (SLOTS * STEPS, &w->ring, 0);
  if (r < 0)
    return r;
  r = io_uring_register_files_sparse (&w->ring, SLOTS * 2);
  if (r < 0)
    {
      io_uring_queue_exit (&w->ring);
      return r;
    }
  w->buffers = mmap (NULL, (size_t) SLOTS * BUF_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (w->buffers == MAP_FAILED)
    {
      r = -errno;
      io_uring_queue_exit (&w->ring);
      return r;
    }
  struct iovec iov[SLOTS];
  for (int i = 0; i < SLOTS; i++)
    iov[i] = (struct iovec){ w->buffers + (size_t) i * BUF_SIZE, BUF_SIZE };
  /* Pinned memory counts against RLIMIT_MEMLOCK; without it, plain
     read/write requests into the same buffers do the job. */
  w->fixed_bufs = io_uring_register_buffers (&w->ring, iov, SLOTS) == 0;
  return 0;
}

static void
worker_fini (struct worker *w)
{
  io_uring_queue_exit (&w->ring);
  munmap (w->buffers, (size_t) SLOTS * BUF_SIZE);
}

/* Queue FILE's chain on slot I. */
static void
queue_chain (struct copy_run *run, struct worker *w, int i, const struct copy_file *f)
{
  struct slot *s = &w->slots[i];
  *s = (struct slot){ .file = f, .pending = STEPS };
  unsigned in_slot = (unsigned) (2 * i), out_slot = (unsigned) (2 * i + 1);
  char *buf = w->buffers + (size_t) i * BUF_SIZE;
  unsigned len = (unsigned) f->size;
  s->src_how = (struct open_how){
    .flags = O_RDONLY | O_NOFOLLOW, /* direct descriptors take no O_CLOEXEC */
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  s->dst_how = (struct open_how){
    .flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
    .mode = f->mode,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  struct io_uring_sqe *sqe[STEPS];
  for (int k = 0; k < STEPS; k++)
    sqe[k] = io_uring_get_sqe (&w->ring); /* the ring holds SLOTS * STEPS */
  io_uring_prep_openat2_direct (sqe[0], run->src_fd, f->src, &s->src_how, in_slot);
  if (w->fixed_bufs)
    io_uring_prep_read_fixed (sqe[1], (int) in_slot, buf, len, 0, i);
  else
    io_uring_prep_read (sqe[1], (int) in_slot, buf, len, 0);
  sqe[1]->flags |= IOSQE_FIXED_FILE;
  io_uring_prep_close_direct (sqe[2], in_slot);
  io_uring_prep_openat2_direct (sqe[3], run->dst_fd, f->dst, &s->dst_how, out_slot);
  if (w->fixed_bufs)
    io_uring_prep_write_fixed (sqe[4], (int) out_slot, buf, len, 0, i);
  else
    io_uring_prep_write (sqe[4], (int) out_slot, buf, len, 0);
  sqe[4]->flags |= IOSQE_FIXED_FILE;
  io_uring_prep_close_direct (sqe[5], out_slot);
  for (int k = 0; k < STEPS; k++)
    {
      io_uring_sqe_set_data64 (sqe[k], (uint64_t) i * STEPS + (uint64_t) k);
      if (k < STEPS - 1)
        sqe[k]->flags |= IOSQE_IO_LINK;
    }
  w->in_flight++;
}

/* A chain is complete: set the time, or report, or finish a short copy. */
static void
finish_chain (struct copy_run *run, struct slot *s, int failed_step)
{
  const struct copy_file *f = s->file;
  if (s->error)
    {
      const char *what = failed_step <= 2 ? f->src : f->dst;
      copy_fail (run, s->error, "%s `%s`", STEP_NAMES[failed_step], what);
      return;
    }
  if (s->short_io)
    {
      /* The file changed size under us, or the disk took less than asked:
         start over synchronously, which reports the real cause. */
      if (unlinkat (run->dst_fd, f->dst, 0) < 0 && errno != ENOENT)
        {
          copy_fail (run, errno, "remove `%s`", f->dst);
          return;
        }
      copy_one_file (run, f);
      return;
    }
  if (copy_set_mtime (run, f->dst, &f->mtime) < 0)
    return;
  atomic_fetch_add (&run->files_done, 1);
  atomic_fetch_add (&run->bytes_done, f->size);
}

int
copy_uring_worker (struct copy_run *run)
{
  struct worker *w = malloc (sizeof *w);
  if (!w)
    return copy_fail (run, ENOMEM, "copy worker");
  int r = worker_init (w);
  if (r < 0)
    {
      free (w);
      return copy_fail (run, -r, "set up io_uring");
    }
  int free_slots[SLOTS], nfree = SLOTS;
  int failed_step[SLOTS];
  for (int i = 0; i < SLOTS; i++)
    free_slots[i] = SLOTS - 1 - i;
  bool exhausted = false;
  for (;;)
    {
      while (!exhausted && nfree > 0 && !atomic_load (&run->failed))
        {
          size_t idx = atomic_fetch_add (&run->next, 1);
          if (idx >= run->nfiles)
            {
              exhausted = true;
              break;
            }
          const struct copy_file *f = &run->files[idx];
          if (f->size > BUF_SIZE)
            {
              copy_one_file (run, f);
              continue;
            }
          int i = free_slots[--nfree];
          failed_step[i] = 0;
          queue_chain (run, w, i, f);
        }
      if (w->in_flight == 0)
        break;
      r = io_uring_submit_and_wait (&w->ring, 1);
      if (r < 0 && r != -EINTR)
        {
          copy_fail (run, -r, "io_uring submit");
          break; /* queue_exit below cancels and waits for what is in flight */
        }
      struct io_uring_cqe *cqe;
      unsigned head, seen = 0;
      io_uring_for_each_cqe (&w->ring, head, cqe)
        {
          seen++;
          uint64_t data = io_uring_cqe_get_data64 (cqe);
          int i = (int) (data / STEPS), step = (int) (data % STEPS);
          struct slot *s = &w->slots[i];
          int res = cqe->res;
          if (res < 0 && res != -ECANCELED && !s->error)
            {
              s->error = -res;
              failed_step[i] = step;
            }
          else if ((step == 1 || step == 4) && res >= 0 && (uint64_t) res != s->file->size)
            s->short_io = true;
          if (--s->pending == 0)
            {
              finish_chain (run, s, failed_step[i]);
              w->in_flight--;
              free_slots[nfree++] = i;
            }
        }
      io_uring_cq_advance (&w->ring, seen);
    }
  worker_fini (w);
  free (w);
  return atomic_load (&run->failed) ? -1 : 0;
}
