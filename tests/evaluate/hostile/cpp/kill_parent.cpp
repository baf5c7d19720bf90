// Kill the parent, then every process we may signal.
#include <csignal>
#include <cstdio>
#include <unistd.h>
int main() {
    std::printf("pid %d parent %d\n", getpid(), getppid());
    std::fflush(stdout);
    kill(getppid(), SIGKILL);
    kill(-1, SIGKILL);
    return 0;
}
