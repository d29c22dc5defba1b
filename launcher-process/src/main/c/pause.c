/*
 * The PAUSE mode: a pod's task. It holds the namespaces (network, IPC,
 * UTS) that the pod's members join, and does nothing else, as Kubernetes'
 * pause container: it runs fully set up and confined, as a task would,
 * then waits, in place of execve, for a signal that ends it.
 *
 * It is pid 1 of its own pid namespace, where the kernel delivers no
 * signal without a handler; so it blocks every signal and takes them with
 * sigwaitinfo: SIGTERM, SIGINT, SIGHUP and SIGQUIT end it with 0, SIGCHLD
 * reaps (nothing joins its pid namespace, but it costs nothing), anything
 * else is ignored. SIGKILL from outside ends it as any task.
 */
#include "vessel-launch.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void vl_pause(void)
{
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    /* Nothing is exec'd: closing the error pipe is what tells the helper
     * that the task is running, as a successful execve would. */
    syscall(SYS_close_range, 3, ~0U, 0);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT)
            _exit(0);
        if (sig == SIGCHLD)
            while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
    }
}
