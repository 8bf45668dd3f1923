/* Samples other processes through /proc: CPU time (utime + stime from
 * /proc/PID/stat), resident memory (VmRSS from /proc/PID/status) and the
 * kernel's TCP buffer memory (/proc/net/sockstat). The machine-wide
 * /proc/stat is not used: its tick-sampled counters miss work that runs in
 * short bursts right after each timer tick (a 1 ms publisher's), where the
 * per-process figures stay exact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pushbench.h"

/* Reads a small /proc file into buf (NUL-terminated); 0 or -1. */
static int proc_read(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL)
        return -1;
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0 ? 0 : -1;
}

int proc_cpu_ns(pid_t pid, uint64_t *out)
{
    char path[64], buf[1024];
    unsigned long long utime, stime;
    const char *p;
    long hz = sysconf(_SC_CLK_TCK);

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (proc_read(path, buf, sizeof(buf)) != 0 || hz <= 0)
        return -1;
    /* The command name may hold spaces and ')': fields start after the last ')'.
     * Then: state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt
     * majflt cmajflt utime(14) stime(15). */
    if ((p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &utime, &stime) != 2)
        return -1;
    *out = (utime + stime) * (1000000000ull / (unsigned long long)hz);
    return 0;
}

int proc_rss_bytes(pid_t pid, uint64_t *out)
{
    char path[64], buf[4096];
    const char *p;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (proc_read(path, buf, sizeof(buf)) != 0 || (p = strstr(buf, "\nVmRSS:")) == NULL)
        return -1;
    *out = strtoull(p + 7, NULL, 10) * 1024;
    return 0;
}

int proc_tcp_mem_bytes(uint64_t *out)
{
    char buf[1024];
    const char *p;
    long page = sysconf(_SC_PAGESIZE);

    if (proc_read("/proc/net/sockstat", buf, sizeof(buf)) != 0 ||
        (p = strstr(buf, "TCP:")) == NULL || (p = strstr(p, " mem ")) == NULL || page <= 0)
        return -1;
    *out = strtoull(p + 5, NULL, 10) * (uint64_t)page;
    return 0;
}
