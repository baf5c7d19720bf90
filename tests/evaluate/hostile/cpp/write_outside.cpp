// Try to create each path given, then delete the file given after --delete.
#include <cstdio>
#include <cstring>
int main(int argc, char** argv) {
    int i = 1;
    for (; i < argc && std::strcmp(argv[i], "--delete") != 0; i++) {
        FILE* f = std::fopen(argv[i], "w");
        if (f) { std::fputs("pwned", f); std::fclose(f); std::printf("ESCAPED wrote %s\n", argv[i]); }
        else std::printf("blocked write %s\n", argv[i]);
    }
    if (i + 1 < argc) {
        if (std::remove(argv[i + 1]) == 0) std::printf("ESCAPED deleted %s\n", argv[i + 1]);
        else std::printf("blocked delete %s\n", argv[i + 1]);
    }
    return 0;
}
