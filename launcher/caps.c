/* caps.c - the agent holds no capability, now or after any exec.

   The bounding set is dropped first (that needs CAP_SETPCAP, which the
   uid change does not take away here: in a user namespace the creator's
   capabilities do not come from uid 0), then the securebits are locked
   (that needs CAP_SETPCAP too), then every set is cleared.  */
#include <errno.h>
#include <linux/securebits.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "launcher.h"

static inline void
cage_cap_freep (cap_t *c)
{
  if (*c)
    cap_free (*c);
  *c = NULL;
}
#define autocap __attribute__ ((cleanup (cage_cap_freep)))

int
caps_drop_bounding (struct cage_error *err)
{
  /* CAP_IS_SUPPORTED asks the kernel, so capabilities newer than our
     libcap headers are dropped too.  */
  for (cap_value_t c = 0; CAP_IS_SUPPORTED (c); c++)
    if (cap_drop_bound (c) < 0)
      {
        int e = errno;
        char *name = cap_to_name (c);
        cage_error_set (err, e, "drop %s from the bounding set",
                        name ? name : "a capability");
        cap_free (name);
        return -1;
      }
  return 0;
}

int
caps_lock_securebits (struct cage_error *err)
{
  /* uid 0 gets no capabilities by exec, a uid change keeps none and
     cannot be told otherwise, no ambient capability can be raised; and
     each is locked, so no process in the cage can undo it.  */
  const unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP
                             | SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED
                             | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
  if (prctl (PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
    return cage_error_set (err, errno, "lock the securebits (prctl(PR_SET_SECUREBITS, %#lx))",
                           bits);
  return 0;
}

int
caps_clear_all (struct cage_error *err)
{
  /* Kernels before 4.3 have no ambient set: nothing to clear there. */
  if (cap_reset_ambient () < 0 && errno != EINVAL)
    return cage_error_set (err, errno, "clear the ambient capabilities");
  autocap cap_t none = cap_init ();
  if (!none)
    return cage_error_set (err, errno, "clear the capabilities (cap_init)");
  if (cap_set_proc (none) < 0)
    return cage_error_set (err, errno, "clear the effective, permitted and inheritable capabilities");
  return 0;
}
