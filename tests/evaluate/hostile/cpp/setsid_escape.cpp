// Double fork + setsid: a daemon that leaves the process group and outlives its parent.
#include <cstdio>
#include <sys/wait.h>
#include <unistd.h>
int main() {
    if (fork() == 0) {
        setsid();
        if (fork() == 0) {
            close(0); close(1); close(2);
            for (;;) sleep(1);
        }
        _exit(0);
    }
    wait(nullptr);
    std::puts("parent exits, daemon keeps running");
    return 0;
}
