// How to read stored tensor bytes piece by piece: map each 512 KB piece in
// (MADV_POPULATE_READ), read it and drop it (MADV_DONTNEED), as mergeflow's stored-bytes
// merges did until 1 December 2026, or pread it into a reused per-thread buffer and read it
// there, as they do now. Reads every file given, in pieces handed to THREADS threads.
//
//   gcc -O2 -mavx2 -pthread scripts/probes/read_pieces.c -o /tmp/read_pieces
//   cat FILES > /dev/null      # page cache warm, as for a merge of files just written
//   /usr/bin/time /tmp/read_pieces map 2 FILES; /usr/bin/time /tmp/read_pieces pread 2 FILES
#define _GNU_SOURCE
#include <fcntl.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PIECE (512 * 1024)
#define MAX_FILES 64
#define MAX_PIECES (1 << 20)

static int use_pread, files;
static int fds[MAX_FILES];
static size_t sizes[MAX_FILES];
static char *maps[MAX_FILES];
static size_t piece_file[MAX_PIECES], piece_offset[MAX_PIECES], pieces, next_piece;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static size_t claim(void) {
    pthread_mutex_lock(&lock);
    size_t p = next_piece++;
    pthread_mutex_unlock(&lock);
    return p;
}

// Reads every byte (as a merge loop would), so the work cannot be skipped.
static uint64_t touch(const char *p, size_t n) {
    __m256i acc = _mm256_setzero_si256();
    for (size_t i = 0; i + 32 <= n; i += 32) acc = _mm256_xor_si256(acc, _mm256_loadu_si256((const __m256i *)(p + i)));
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, acc);
    return lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3];
}

static void *worker(void *result) {
    char *buffer = aligned_alloc(4096, PIECE);
    uint64_t sum = 0;
    for (size_t p; (p = claim()) < pieces;) {
        int f = (int)piece_file[p];
        size_t offset = piece_offset[p], n = sizes[f] - offset < PIECE ? sizes[f] - offset : PIECE;
        if (use_pread) {
            if (pread(fds[f], buffer, n, (off_t)offset) != (ssize_t)n) { perror("pread"); exit(1); }
            sum ^= touch(buffer, n);
        } else {
            madvise(maps[f] + offset, n, 22 /* MADV_POPULATE_READ */);
            sum ^= touch(maps[f] + offset, n);
            madvise(maps[f] + offset, n, MADV_DONTNEED);
        }
    }
    free(buffer);
    *(uint64_t *)result = sum;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4 || (strcmp(argv[1], "map") && strcmp(argv[1], "pread"))) {
        fprintf(stderr, "usage: read_pieces map|pread THREADS FILE...\n");
        return 2;
    }
    use_pread = !strcmp(argv[1], "pread");
    int threads = atoi(argv[2]);
    files = argc - 3;
    if (threads < 1 || threads > 64 || files > MAX_FILES) { fprintf(stderr, "read_pieces: 1-64 threads, at most %d files\n", MAX_FILES); return 2; }
    size_t total = 0;
    for (int i = 0; i < files; i++) {
        struct stat info;
        if ((fds[i] = open(argv[i + 3], O_RDONLY)) < 0 || fstat(fds[i], &info) != 0) { perror(argv[i + 3]); return 1; }
        sizes[i] = (size_t)info.st_size;
        maps[i] = mmap(NULL, sizes[i], PROT_READ, MAP_SHARED, fds[i], 0);
        if (maps[i] == MAP_FAILED) { perror("mmap"); return 1; }
        for (size_t o = 0; o < sizes[i] && pieces < MAX_PIECES; o += PIECE) { piece_file[pieces] = i; piece_offset[pieces++] = o; }
        total += sizes[i];
    }
    pthread_t ids[64];
    uint64_t sums[64];
    double start = now();
    for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, worker, &sums[t]);
    for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
    double seconds = now() - start;
    printf("%s, %d threads: %.3f s, %.2f GB/s (checksum %llx)\n", argv[1], threads, seconds, total / seconds / 1e9,
           (unsigned long long)(sums[0] ^ sums[threads - 1]));
    return 0;
}
