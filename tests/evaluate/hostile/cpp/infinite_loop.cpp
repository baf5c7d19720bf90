// Burn CPU forever, ignoring SIGTERM/SIGXCPU.
#include <csignal>
int main() {
    std::signal(SIGTERM, SIG_IGN);
    std::signal(SIGXCPU, SIG_IGN);
    volatile unsigned long n = 0;
    for (;;) n++;
}
