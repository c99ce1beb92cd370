// Process control Swift cannot reach directly: prctl is variadic, and glibc declares
// posix_spawn_file_actions_addchdir_np and pipe2 only for _GNU_SOURCE.
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <unistd.h>

/// Asks the kernel to send `signal` to this process when the thread that started it exits.
static inline int mergeflow_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
}

/// Makes a spawned child start in `path`.
static inline int mergeflow_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

/// A pipe whose two ends are close-on-exec from the start (no window in which a process
/// spawned by another thread inherits them).
static inline int mergeflow_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}
