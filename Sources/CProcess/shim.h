// Process control Swift cannot reach directly: prctl is variadic, and glibc declares
// posix_spawn_file_actions_addchdir_np only for _GNU_SOURCE.
#define _GNU_SOURCE
#include <spawn.h>
#include <sys/prctl.h>

/// Asks the kernel to send `signal` to this process when the thread that started it exits.
static inline int mergeflow_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
}

/// Makes a spawned child start in `path`.
static inline int mergeflow_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}
