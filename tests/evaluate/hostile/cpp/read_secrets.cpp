// Look for secrets: an environment variable and a credential file in the real home directory.
#include <cstdio>
#include <cstdlib>
int main(int argc, char** argv) {
    if (const char* v = std::getenv(argv[1])) std::printf("ESCAPED env %s=%s\n", argv[1], v);
    if (FILE* f = std::fopen(argv[2], "r")) {
        char buf[256] = {0};
        std::fread(buf, 1, sizeof buf - 1, f);
        std::printf("ESCAPED file %s: %s\n", argv[2], buf);
    } else {
        std::printf("blocked file\n");
    }
    return 1;
}
