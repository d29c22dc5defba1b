/* Writes a line into FILE through a shared, writable mapping (as SQLite's WAL index and LMDB do). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    static const char line[] = "written through a shared mapping\n";
    if (argc != 2) {
        fprintf(stderr, "usage: map-write FILE\n");
        return 2;
    }
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, sizeof line - 1) < 0) {
        perror(argv[1]);
        return 1;
    }
    char *map = mmap(NULL, sizeof line - 1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        perror("mmap shared writable");
        return 1;
    }
    memcpy(map, line, sizeof line - 1);
    if (msync(map, sizeof line - 1, MS_SYNC) < 0) {
        perror("msync");
        return 1;
    }
    return 0;
}
