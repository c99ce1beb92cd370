// What writing a new 2.2 GB file costs on this machine depending on its pace: the same
// 140 writes of 16 MB into the page cache, back to back or with PAUSE_US between them.
// Each run first writes and deletes a file of the same size, so its pages were just freed
// (as a merge follows the deletion of the previous output). On the Firecracker VMs this
// project runs on, memory left free for a second or two goes back to the host, and the
// kernel's copy into page-cache pages taken from it costs several times more.
//
//   gcc -O2 scripts/probes/write_pace.c -o /tmp/write_pace
//   /tmp/write_pace DIR 0; /tmp/write_pace DIR 30000
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (16 << 20)
#define CHUNKS 140

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static double system_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_stime.tv_sec + usage.ru_stime.tv_usec * 1e-6;
}

static int write_file(const char *path, const char *buffer, int pause_us) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror(path); return 1; }
    for (int i = 0; i < CHUNKS; i++) {
        if (write(fd, buffer, CHUNK) != CHUNK) { perror("write"); close(fd); return 1; }
        if (pause_us) usleep((useconds_t)pause_us);
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: write_pace DIR PAUSE_US\n"); return 2; }
    char first[4096], timed[4096];
    snprintf(first, sizeof first, "%s/write_pace.freed", argv[1]);
    snprintf(timed, sizeof timed, "%s/write_pace.out", argv[1]);
    int pause_us = atoi(argv[2]);
    char *buffer = malloc(CHUNK);
    memset(buffer, 1, CHUNK);
    if (write_file(first, buffer, 0)) return 1;
    unlink(first);
    double wall = now(), sys = system_seconds();
    if (write_file(timed, buffer, pause_us)) return 1;
    printf("pause %d us: wall %.2f s, system %.2f s for %.2f GB\n", pause_us, now() - wall, system_seconds() - sys,
           (double)CHUNK * CHUNKS / 1e9);
    unlink(timed);
    return 0;
}
