// Allocate and touch memory until something stops us.
#include <cstring>
#include <vector>
int main() {
    std::vector<char*> keep;
    for (;;) {
        char* p = new char[64 << 20];
        std::memset(p, 1, 64 << 20);
        keep.push_back(p);
    }
}
