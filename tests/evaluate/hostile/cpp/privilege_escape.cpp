// Use root's powers: raise our own limits, unmount the masks over the home directories, remount the root
// filesystem read-write, then write a file on the host and read a secret from the real home.
#include <cstdio>
#include <sys/mount.h>
#include <sys/resource.h>
#include <initializer_list>
int main(int argc, char** argv) {
    rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(RLIMIT_AS, &unlimited) == 0) std::puts("ESCAPED raised RLIMIT_AS");
    for (const char* p : {"/root", "/home", "/tmp"})
        if (umount2(p, MNT_DETACH) == 0) std::printf("ESCAPED unmounted %s\n", p);
    if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND, nullptr) == 0) std::puts("ESCAPED remounted /");
    if (FILE* f = std::fopen(argv[1], "w")) { std::fputs("pwned", f); std::fclose(f); std::puts("ESCAPED wrote"); }
    if (FILE* f = std::fopen(argv[2], "r")) {
        char buf[256] = {0};
        std::fread(buf, 1, sizeof buf - 1, f);
        std::printf("ESCAPED read %s\n", buf);
    }
    return 1;
}
