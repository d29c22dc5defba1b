/*
 * Writes a line into FILE through a shared, writable mapping (as SQLite's WAL index and LMDB do), then msyncs it;
 * with --no-msync it leaves the page to the kernel, which writes it back when the mapping goes (at the exit).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    static const char line[] = "written through a shared mapping\n";
    int do_msync = !(argc == 3 && strcmp(argv[1], "--no-msync") == 0);
    if (argc != (do_msync ? 2 : 3)) {
        fprintf(stderr, "usage: map-write [--no-msync] FILE\n");
        return 2;
    }
    const char *file = argv[argc - 1];
    int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, sizeof line - 1) < 0) {
        perror(file);
        return 1;
    }
    char *map = mmap(NULL, sizeof line - 1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        perror("mmap shared writable");
        return 1;
    }
    memcpy(map, line, sizeof line - 1);
    if (do_msync && msync(map, sizeof line - 1, MS_SYNC) < 0) {
        perror("msync");
        return 1;
    }
    return 0;
}
