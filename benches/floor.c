/* The physical floor of the prompt path, for benches/prompt.rs: open the cache file, take a
 * shared lock, read it whole, print one line of it. Linked static (`cc -static -O2`), so no
 * dynamic loader and no language runtime start before main: no program that shows the cache
 * can do less. The Rust floor next to it does the same work, built the usual way. */
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

/* Larger than any cache: the pages the read does not touch are never faulted in. */
static char buf[1 << 20];

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_SH) != 0)
        return 1;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0)
            return 1;
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == sizeof buf - 1)
            return 1;
    }
    /* The Rust floor's line: the first 48 bytes, and a newline. */
    size_t line = len < 48 ? len : 48;
    buf[line] = '\n';
    return write(1, buf, line + 1) == (ssize_t)(line + 1) ? 0 : 1;
}
